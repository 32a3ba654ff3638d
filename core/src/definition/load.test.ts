import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ConfigIssue, formatIssue, UsageError, WorkflowConfigError } from '../errors.js';
import { formatPath, loadWorkflowFile, type LoadResult, parseWorkflow } from './load.js';
import { normalize } from './normalize.js';

const MINIMAL = `version: 1
name: web
inputs: { version: { default: v2 } }
environments: { staging: {} }
stages:
  - name: deploy-web
    environment: staging
    target: { type: sim }
`;

function errorsOf(result: LoadResult): ConfigIssue[] {
  if (result.ok) throw new Error('expected the workflow to be rejected');
  return result.errors;
}
const lines = (issues: ConfigIssue[]) => issues.map(formatIssue);

describe('parseWorkflow', () => {
  it('returns the typed workflow with the schema defaults filled in', () => {
    const result = parseWorkflow(MINIMAL, 'rollgate.yml');
    expect(result).toMatchObject({ ok: true, warnings: [] });
    if (!result.ok) return;
    const [stage] = result.workflow.stages;
    expect(stage).toMatchObject({
      name: 'deploy-web',
      needs: [],
      version: '{{ inputs.version }}',
      strategy: { type: 'direct' },
      verify: { timeout: 300_000, interval: 5_000 },
    });
    expect(result.workflow.audit.sinks).toMatchObject([{ type: 'file', dir: '.rollgate/audit' }]);
    expect(result.workflow.defaults).toMatchObject({ maxParallelStages: 4, stageTimeout: 1_800_000 });
    expect(result.workflow.inputs.version).toEqual({ default: 'v2', required: false });
  });

  it('reads JSON with the same parser, and ignores a byte-order mark', () => {
    const json = JSON.stringify({
      version: 1,
      name: 'web',
      inputs: { version: { default: 'v1' } },
      environments: { staging: {} },
      stages: [{ name: 'a', environment: 'staging', target: { type: 'sim' } }],
    });
    expect(parseWorkflow(`\uFEFF${json}`, 'rollgate.json').ok).toBe(true);
  });

  it('reports a JSON problem at its line and column', () => {
    const json = '{\n  "version": 1,\n  "name": "web",\n  "environments": {},\n  "stages": [\n    { "name": "a", "environment": "x", "target": { "type": "helm" } }\n  ]\n}\n';
    expect(lines(errorsOf(parseWorkflow(json, 'w.json')))).toEqual([
      "w.json:6:60: stages[a].target.type: unknown target type 'helm'; allowed: app-service, cloud-run, command, container-apps, ecs, fleet, kubernetes, sim, swarm",
    ]);
  });

  it('reports every schema problem at once, sorted by position', () => {
    const text = MINIMAL.replace('version: 1', 'version: 3').replace('type: sim', 'type: sim, replicas: -1').replace('name: web', 'name: WEB');
    expect(lines(errorsOf(parseWorkflow(text, 'w.yml')))).toEqual([
      'w.yml:1:10: version: unsupported workflow format version 3; this rollgate reads version: 1',
      "w.yml:2:7: name: expected lowercase letters, digits and dashes (like a Kubernetes name), got 'WEB'",
      'w.yml:8:36: stages[deploy-web].target.replicas: must be more than 0, got the number -1',
    ]);
  });

  it('still runs the rules that read only the raw file when the schema fails', () => {
    const token = ['gh', 'p_', 'EXAMPLEexampleEXAMPLEexampleEXAMPLE0'].join('');
    const text = `${MINIMAL}  - name: deploy-web\n    environment: staging\n    target: { type: helm }\n    description: ${token}\n`;
    const issues = errorsOf(parseWorkflow(text, 'w.yml'));
    expect(lines(issues)).toEqual([
      "w.yml:9:11: stages[1].name: duplicate stage name 'deploy-web' (already used by stages[0]); stage names must be unique",
      "w.yml:11:21: stages[1].target.type: unknown target type 'helm'; allowed: app-service, cloud-run, command, container-apps, ecs, fleet, kubernetes, sim, swarm",
      'w.yml:12:18: stages[1].description: looks like an inlined secret (a GitHub token); put it in an environment variable and reference it by name',
    ]);
  });

  it('never repeats a secret-looking value in a message', () => {
    const token = ['gh', 'p_', 'EXAMPLEexampleEXAMPLEexampleEXAMPLE0'].join('');
    const issues = errorsOf(parseWorkflow(MINIMAL.replace('name: web', `name: ${token}`), 'w.yml'));
    expect(issues.map((i) => i.message).join('\n')).not.toContain(token);
    expect(issues[0]?.message).toContain('a value that looks like a secret (not shown)');
  });

  it('describes values and expectations in the words of the file', () => {
    const text = `version: 1
name: web
inputs: { version: { default: v1 } }
environments: { staging: { variables: { A: [x] } } }
probes:
  p: { type: 5 }
  q: { type: command, run: { run: "", shell: true } }
  r: { type: tcp, host: h, port: 70000 }
  s: { type: tcp, port: 1 }
stages:
  - name: "3"
    environment: staging
    needs:
    target: { type: command, deploy: { run: [x], timeout: soon } }
`;
    expect(lines(errorsOf(parseWorkflow(text, 'w.yml')))).toEqual([
      'w.yml:4:44: environments.staging.variables.A: expected a string, got a list',
      'w.yml:6:14: probes.p.type: unknown probe type 5; allowed: http, tcp, command, sim, postgres, prometheus, kubernetes, swarm, aws-target-group, aws-rds, aws-quota, azure-database, cloud-sql',
      'w.yml:7:35: probes.q.run.run: must not be empty',
      'w.yml:8:34: probes.r.port: must be at most 65535, got the number 70000',
      "w.yml:9:6: probes.s.host: missing required field 'host'",
      'w.yml:13:5: stages[0].needs: expected a list, got an empty value; write [] for an empty list',
      "w.yml:14:59: stages[0].target.deploy.timeout: expected a duration such as 500ms, 30s, 5m or 1h, got 'soon'",
    ]);
  });

  it('explains commands: argv lists, maps with run, and what is wrong inside them', () => {
    const text = `version: 1
name: web
inputs: { version: { default: v1 } }
environments: { staging: {} }
stages:
  - name: a
    environment: staging
    target:
      type: command
      deploy: { run: 5 }
      health: []
      current: { shell: true }
      revert: [kubectl, 1]
  - name: b
    environment: staging
    target: { type: { kind: sim } }
`;
    expect(lines(errorsOf(parseWorkflow(text, 'w.yml')))).toEqual([
      'w.yml:10:22: stages[a].target.deploy.run: expected a list or a string, got the number 5',
      'w.yml:11:15: stages[a].target.health: must list at least 1 item',
      "w.yml:12:16: stages[a].target.current.run: missing required field 'run' (An argv array, or script text when `shell` is true)",
      'w.yml:13:25: stages[a].target.revert[1]: expected a string, got the number 1; quote it to keep it as text',
      'w.yml:16:21: stages[b].target.type: unknown target type a map; allowed: app-service, cloud-run, command, container-apps, ecs, fleet, kubernetes, sim, swarm',
    ]);
  });

  it('names a repeated quoted key', () => {
    const text = MINIMAL.replace('name: web', '"name": web\n"name": api');
    expect(lines(errorsOf(parseWorkflow(text, 'w.yml')))).toEqual(["w.yml:3:1: duplicate key 'name'; a key may appear only once in a map"]);
  });

  it('turns YAML warnings into warnings', () => {
    const result = parseWorkflow(MINIMAL.replace('name: web', 'name: !shout web'), 'w.yml');
    expect(result.ok).toBe(true);
    expect(lines(result.warnings)).toEqual(['w.yml:2:7: YAML: Unresolved tag: !shout']);
  });

  it('refuses documents that expand aliases without limit, at the alias that goes past it', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    expect(lines(errorsOf(parseWorkflow(bomb.join('\n'), 'bomb.yml')))).toEqual([
      'bomb.yml:5:36: aliases expand to more than 100,000 values by here (*d adds 11111); write the values out or use fewer aliases',
    ]);
  });

  it('points at an alias that refers to no anchor, or to the value it is inside of', () => {
    const text = MINIMAL.replace('environment: staging', 'environment: *nope').replace('inputs: { version: { default: v2 } }', 'inputs: &i { version: { default: v2 }, x: *i }');
    expect(lines(errorsOf(parseWorkflow(text, 'w.yml')))).toEqual([
      'w.yml:3:43: alias *i is inside the value it refers to, so it would never end',
      'w.yml:7:18: unknown alias *nope: an alias refers to an anchor (&nope) set earlier in the file',
    ]);
  });

  it('points at a << merge of something other than a map', () => {
    const text = `${MINIMAL}defaults: &d [1, 2]\nsim: { <<: *d }\nx: { <<: [{ a: 1 }, 5] }\ny: { <<: 7 }\n`;
    expect(lines(errorsOf(parseWorkflow(text, 'w.yml')))).toEqual([
      'w.yml:10:12: a << merge takes a map or a list of maps, usually an alias such as <<: *defaults; this list holds the number 1',
      'w.yml:11:10: a << merge takes a map or a list of maps, usually an alias such as <<: *defaults; this list holds the number 5',
      'w.yml:12:10: a << merge takes a map or a list of maps, usually an alias such as <<: *defaults, got the number 7',
    ]);
  });

  it('reports an empty, blank or CR-only file at line 1, column 1', () => {
    for (const text of ['', '\n\n', '   ', '\r', '\r\r\r', '\r\n', '# nothing yet\r']) {
      expect(lines(errorsOf(parseWorkflow(text, 'w.yml'))), JSON.stringify(text)).toEqual([
        'w.yml:1:1: the file is empty; a workflow needs at least version: 1, name, environments and stages',
      ]);
    }
  });

  it('reads a file whose lines end with a lone CR like any other', () => {
    expect(parseWorkflow(MINIMAL.replace(/\n/g, '\r'), 'w.yml').ok).toBe(true);
    expect(lines(errorsOf(parseWorkflow(MINIMAL.replace('type: sim', 'type: helm').replace(/\n/g, '\r'), 'w.yml')))).toEqual([
      "w.yml:8:21: stages[deploy-web].target.type: unknown target type 'helm'; allowed: app-service, cloud-run, command, container-apps, ecs, fleet, kubernetes, sim, swarm",
    ]);
  });

  it('refuses nesting deeper than 64 levels at the map or list that goes too deep, however deep the file', () => {
    const flow = (depth: number) => `${MINIMAL}description: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}\n`;
    const block = (depth: number) => `${MINIMAL}description:\n${Array.from({ length: depth }, (_, i) => `${' '.repeat(i + 2)}k${i}:`).join('\n')} 1\n`;
    const lists = (depth: number) => `${MINIMAL}description: ${'['.repeat(depth)}${']'.repeat(depth)}\n`;
    const message = 'nesting deeper than 64 levels of maps and lists; a workflow needs far fewer: check the indentation and brackets here';
    for (const depth of [65, 2_000, 100_000]) {
      expect(lines(errorsOf(parseWorkflow(flow(depth), 'w.yml')))).toEqual([`w.yml:9:${13 + 4 * 63 + 1}: ${message}`]);
      expect(lines(errorsOf(parseWorkflow(lists(depth), 'w.yml')))).toEqual([`w.yml:9:${13 + 63 + 1}: ${message}`]);
    }
    expect(lines(errorsOf(parseWorkflow(block(2_000), 'w.yml')))).toEqual([`w.yml:73:66: ${message}`]);
    expect(errorsOf(parseWorkflow(flow(63), 'w.yml'))[0]?.message).toMatch(/^expected a string/);
  });

  it('refuses nesting deeper than 64 levels through aliases', () => {
    const nest = (inner: string) => `${'['.repeat(30)}${inner}${']'.repeat(30)}`;
    const chain = [`a0: &a0 ${nest('1')}`];
    for (let i = 1; i < 4; i++) chain.push(`a${i}: &a${i} ${nest(`*a${i - 1}`)}`);
    expect(lines(errorsOf(parseWorkflow(chain.join('\n'), 'w.yml')))).toEqual([
      'w.yml:3:39: nesting deeper than 64 levels of maps and lists through alias *a1; a workflow needs far fewer: check the indentation and brackets here',
    ]);
  });

  it('points at the second of two names that become one environment variable', () => {
    const text = MINIMAL.replace('environments: { staging: {} }', 'environments:\n  staging:\n    variables:\n      db-host: a\n      db_host: b');
    expect(lines(errorsOf(parseWorkflow(text, 'w.yml')))).toEqual([
      "w.yml:8:7: environments.staging.variables.db_host: variables 'db-host' and 'db_host' of environment 'staging' both become ROLLGATE_VAR_DB_HOST in commands and probes; rename one of them",
    ]);
  });

  it('validates a chain of 20,000 stages, and reports a cycle through all of them, in linear time', () => {
    // Before: needs were looked up in lists (quadratic) and the cycle check recursed through the
    // chain, which overflowed the stack (exit 70, "unexpected error").
    const count = 20_000;
    const stage = (i: number, needs: string) => `  - name: s${i}\n    environment: staging\n    needs: [${needs}]\n    target: { type: sim }`;
    const file = (last: string) => {
      const stages = Array.from({ length: count }, (_, i) => stage(i, i < count - 1 ? `s${i + 1}` : last));
      return `version: 1\nname: big\ninputs: { version: { default: v2 } }\nenvironments: { staging: {} }\nstages:\n${stages.join('\n')}\n`;
    };
    expect(parseWorkflow(file(''), 'big.yml').ok).toBe(true);
    const end = 5 + 4 * count - 1;
    expect(lines(errorsOf(parseWorkflow(file('s0, nope, s19999'), 'big.yml')))).toEqual([
      'big.yml:8:13: stages[s0].needs[0]: needs form a cycle: s0 → s1 → s2 → s3 → s4 → … (19990 more) → s19995 → s19996 → s19997 → s19998 → s19999 → s0; none of these stages can start. Remove one of these needs',
      `big.yml:${end}:17: stages[s19999].needs[1]: unknown stage 'nope' in needs; stages: ${Array.from({ length: 20 }, (_, i) => `s${i}`).join(', ')} and 19980 more`,
      `big.yml:${end}:23: stages[s19999].needs[2]: stage 's19999' cannot need itself`,
    ]);
  });

  it('points at the key of an empty value, and at the map that lacks a field', () => {
    const text = 'version: 1\nname: web\nenvironments:\n  staging:\nstages:\n  - name: a\n    target: { type: sim }\n';
    expect(lines(errorsOf(parseWorkflow(text, 'w.yml')))).toEqual([
      'w.yml:4:3: environments.staging: expected a map, got an empty value; write {} for an empty map',
      "w.yml:6:5: stages[a].environment: missing required field 'environment' (Name of an entry in `environments`)",
    ]);
  });
});

describe('formatPath', () => {
  const raw = { stages: [{ name: 'web' }, { name: 'api' }, { name: 'api' }, { name: '42' }, {}] };

  it('names stages by their unique name and numbers everything else', () => {
    expect(formatPath(['stages', 0, 'target', 'type'], raw)).toBe('stages[web].target.type');
    expect(formatPath(['stages', 1, 'name'], raw)).toBe('stages[1].name');
    expect(formatPath(['stages', 3], raw)).toBe('stages[3]');
    expect(formatPath(['stages', 4, 'name'], raw)).toBe('stages[4].name');
    expect(formatPath(['notifications', 0, 'type'], raw)).toBe('notifications[0].type');
    expect(formatPath([], raw)).toBe('');
  });

  it('quotes keys that are not plain names', () => {
    expect(formatPath(['environments', 'prod', 'variables', 'API HOST'], {})).toBe('environments.prod.variables["API HOST"]');
    expect(formatPath(['environments', 'eu-1'], null)).toBe('environments.eu-1');
  });
});

describe('loadWorkflowFile', () => {
  it('reads, validates and fingerprints a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rollgate-load-'));
    const path = join(dir, 'rollgate.yml');
    await writeFile(path, MINIMAL);
    const loaded = await loadWorkflowFile(path);
    expect(loaded).toMatchObject({ path, dir, text: MINIMAL, warnings: [] });
    expect(loaded.sha256).toBe(createHash('sha256').update(MINIMAL).digest('hex'));
    expect(loaded.workflow.name).toBe('web');
  });

  it('throws WorkflowConfigError with every problem', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rollgate-load-'));
    const path = join(dir, 'bad.yml');
    await writeFile(path, MINIMAL.replace('environment: staging', 'environment: prod').replace('type: sim', 'type: helm'));
    const error = await loadWorkflowFile(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowConfigError);
    expect((error as WorkflowConfigError).issues).toHaveLength(1); // the rules wait for the schema to pass
    expect((error as Error).message).toMatch(/^invalid workflow .*bad\.yml \(1 problem\):\n {2}- .*bad\.yml:8:21: stages\[deploy-web\]\.target\.type: unknown target type 'helm'/);
  });

  it('throws UsageError saying what to do when the file cannot be read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rollgate-load-'));
    const missing = loadWorkflowFile(join(dir, 'nope.yml'));
    await expect(missing).rejects.toBeInstanceOf(UsageError);
    await expect(missing).rejects.toThrow(/^cannot read workflow file .*nope\.yml: ENOENT: no such file \(looked for .*\); check the path/);
    await mkdir(join(dir, 'folder'));
    await expect(loadWorkflowFile(join(dir, 'folder'))).rejects.toThrow(/EISDIR: it is a directory; give the workflow file in it, e\.g\. .*folder\/rollgate\.yml/);
  });
});

describe('normalize', () => {
  it('keeps every index and key where the file had it', () => {
    const result = parseWorkflow(MINIMAL, 'w.yml');
    if (!result.ok) throw new Error('minimal workflow should load');
    expect(normalize(result.workflow)).toEqual(result.workflow);
  });
});
