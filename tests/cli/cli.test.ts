import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, EXAMPLES, ROOT, start, waitForOutput, workspace, writeWorkflow } from './support.js';

const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('rollgate CLI basics', () => {
  it('prints its version and help', async () => {
    const cwd = await workspace();
    expect(await cli(['--version'], { cwd })).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    const help = await cli(['--help'], { cwd });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes: 0 succeeded · 1 failed and rolled back · 2 invalid input · 3 paused/);
    const runHelp = await cli(['run', '--help'], { cwd });
    expect(runHelp.stdout).toMatch(/--state PATH/);
  });

  it('rejects an unknown command and an unknown flag with exit code 2', async () => {
    const cwd = await workspace();
    const unknown = await cli(['deploy'], { cwd });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'deploy'/);
    const flag = await cli(['run', 'x.yml', '--colour'], { cwd });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/rollgate run: Unknown option '--colour'/);
  });
});

describe('rollgate validate', () => {
  it('accepts every example', async () => {
    for (const name of ['sim-pipeline.yml', 'bad-version.yml', 'approval-gate.yml', 'command-target.yml']) {
      const r = await cli(['validate', join(EXAMPLES, name)], { cwd: ROOT });
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/: valid \(workflow /);
    }
  });

  it('reports every problem with file, line, column and field, without a stack trace', async () => {
    const cwd = await workspace();
    const file = await writeWorkflow(
      cwd,
      'bad.yml',
      ['version: 1', 'name: web', 'environments: { prod: {} }', 'stages:', '  - name: web', '    environment: prod', '    target: { type: helm }', ''].join('\n'),
    );
    const r = await cli(['validate', file], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.yml:7:\d+: .*target\.type: unknown target type 'helm'; allowed: app-service, cloud-run, command, container-apps, ecs, fleet, kubernetes, sim, swarm/);
    expect(r.stderr).not.toMatch(/    at /);
  });

  it('says clearly when the file cannot be read', async () => {
    const cwd = await workspace();
    const r = await cli(['validate', 'missing.yml'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read workflow file .*missing\.yml/);
  });

  it('reports malformed YAML with its position', async () => {
    const cwd = await workspace();
    const file = await writeWorkflow(cwd, 'broken.yml', 'version: 1\nname: [web\n');
    const r = await cli(['validate', file], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/broken\.yml:\d+:\d+/);
  });
});

describe('rollgate run on the simulated infrastructure', () => {
  it('runs the main example to success and prints a summary', async () => {
    const cwd = await workspace();
    const r = await cli(['run', join(EXAMPLES, 'sim-pipeline.yml'), '--state', 'run.json'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/stage web-staging started: v2 to staging \(direct\)/);
    expect(r.stdout).toMatch(/web-production\s+production\s+v2\s+succeeded/);
    expect(r.stderr).toMatch(/── notification ──\n✓ web: v1 → v2 to production \(direct\): succeeded\n/);
    expect(r.stderr).not.toContain("notify:");
    const journal = JSON.parse(await readFile(join(cwd, 'run.json'), 'utf8')) as { status: string; runId: string };
    expect(journal.status).toBe('succeeded');
    // The last line names where the trail ends, for the CI log to keep; `audit verify --head` checks it.
    const head = /^audit trail: (\S+) ends at entry (\d+), head ([0-9a-f]{64}) \(keep it: 'audit verify --head' checks it\)$/m.exec(r.stdout);
    expect(head?.[1]).toBe(`.rollgate/audit/${journal.runId}.jsonl`);
    const verified = await cli(['audit', 'verify', head?.[1] as string, '--head', head?.[3] as string], { cwd });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  });

  it('catches the bad version, rolls back and exits 1', async () => {
    const cwd = await workspace();
    const r = await cli(['run', join(EXAMPLES, 'bad-version.yml')], { cwd });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/web: rollback complete/);
    expect(r.stdout).toMatch(/run .*: rolled-back/);
  });

  it('prints events as JSON Lines with --json', async () => {
    const cwd = await workspace();
    const r = await cli(['run', join(EXAMPLES, 'sim-pipeline.yml'), '--json', '--input', 'version=v5'], { cwd });
    expect(r.code).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; version?: string });
    expect(events[0]?.kind).toBe('run.started');
    expect(events.at(-1)?.kind).toBe('run.finished');
    expect(events.find((e) => e.kind === 'stage.started')?.version).toBe('v5');
  });

  it('pauses at a gate with exit 3, refuses to resume without a decision, then resumes', async () => {
    const cwd = await workspace();
    const wf = join(EXAMPLES, 'approval-gate.yml');
    const paused = await cli(['run', wf], { cwd });
    expect(paused.code).toBe(3);
    expect(paused.stdout).toMatch(/paused: approve with 'rollgate resume --state \.rollgate\/run\.json --approve'/);
    const again = await cli(['run', wf], { cwd });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/which is paused; finish it with 'rollgate resume/);
    const undecided = await cli(['resume'], { cwd });
    expect(undecided.code).toBe(2);
    expect(undecided.stderr).toMatch(/is paused at production \(approval-production\): pass --approve or --reject/);
    const approved = await cli(['resume', '--approve', '--by', 'alice', '--comment', 'looks good'], { cwd });
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(/production: approved by alice: looks good/);
  });

  it('rejects at a gate: exit 1, nothing changed in production', async () => {
    const cwd = await workspace();
    expect((await cli(['run', join(EXAMPLES, 'approval-gate.yml')], { cwd })).code).toBe(3);
    const rejected = await cli(['resume', '--reject', '--by', 'bob'], { cwd });
    expect(rejected.code).toBe(1);
    expect(rejected.stdout).toMatch(/production\s+production\s+v2\s+failed\s+-\s+rejected by bob; nothing was changed/);
  });

  it('injects failures from a scenario file: rate limits are retried and the run succeeds', async () => {
    const cwd = await workspace();
    const r = await cli(['run', join(EXAMPLES, 'bad-version.yml'), '--input', 'version=v2', '--scenario', join(EXAMPLES, 'scenarios/rate-limited.yml')], {
      cwd,
    });
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/retrying in \d+ms after: sim: rate limited \(429\) on deploy/);
  });

  it('rejects an invalid scenario file with its file and field', async () => {
    const cwd = await workspace();
    const scenario = await writeWorkflow(cwd, 'scenario.yml', 'failures:\n  - kind: meteor-strike\n');
    const r = await cli(['run', join(EXAMPLES, 'bad-version.yml'), '--scenario', scenario], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid scenario:\n.*scenario\.yml.*failures\.0\.kind/);
  });

  it('rejects an unknown input and a truncated journal with exit 2', async () => {
    const cwd = await workspace();
    const r = await cli(['run', join(EXAMPLES, 'sim-pipeline.yml'), '--input', 'colour=red'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown input 'colour'; declared inputs: version/);
    await writeFile(join(cwd, 'torn.json'), '{"format":"rollgate/run-jou');
    const resumed = await cli(['resume', '--state', 'torn.json'], { cwd });
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toMatch(/torn\.json is corrupt or truncated/);
    expect(await readFile(join(cwd, 'torn.json'), 'utf8')).toBe('{"format":"rollgate/run-jou');
  });
});

const commandWorkflow = (deploy: string, revert: string, extra = '') => `version: 1
name: files
inputs:
  version: { default: "2" }
  note: { default: "-", pattern: ".*" }
environments:
  local: {}
secrets: [DEPLOY_TOKEN]
stages:
  - name: release
    environment: local
    target:
      type: command
      current: [sh, -c, 'cat current 2>/dev/null || true']
      deploy: [sh, -c, '${deploy}']
      revert: [sh, -c, '${revert}']
${extra}`;

describe('rollgate run with the command target', () => {
  it('passes hostile input values as data, never as shell text', async () => {
    const cwd = await workspace();
    // An input whose own pattern accepts shell syntax: it still only ever reaches the command as data.
    const wf = await writeWorkflow(cwd, 'wf.yml', commandWorkflow('printf "%s" "$ROLLGATE_INPUT_NOTE" > current', 'true'));
    const r = await cli(['run', wf, '--input', 'note=$(touch pwned); touch pwned2'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(cwd, 'current'), 'utf8')).toBe('$(touch pwned); touch pwned2');
    expect(existsSync(join(cwd, 'pwned')) || existsSync(join(cwd, 'pwned2'))).toBe(false);
  });

  it('masks secrets in command output and in the journal', async () => {
    const cwd = await workspace();
    const wf = await writeWorkflow(cwd, 'wf.yml', commandWorkflow('echo "token is $DEPLOY_TOKEN"; echo 2 > current', 'true'));
    const r = await cli(['run', wf, '--state', 'run.json'], { cwd, env: { DEPLOY_TOKEN: 'tok-very-secret-42' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/token is \*\*\*/);
    expect(r.stdout + r.stderr + (await readFile(join(cwd, 'run.json'), 'utf8'))).not.toContain('tok-very-secret-42');
  });

  it('stops on a missing secret before changing anything', async () => {
    const cwd = await workspace();
    const wf = await writeWorkflow(
      cwd,
      'wf.yml',
      `${commandWorkflow('echo 2 > current', 'true')}probes:\n  api:\n    type: http\n    url: http://127.0.0.1:9/health\n    bearerTokenEnv: API_TOKEN\n`,
    );
    const r = await cli(['run', wf], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/probes\.api\.bearerTokenEnv: environment variable API_TOKEN is not set/);
    expect(existsSync(join(cwd, 'current'))).toBe(false);
  });

  it('exits 4 with what is left when the revert command fails', async () => {
    const cwd = await workspace();
    await writeFile(join(cwd, 'current'), '1\n');
    const wf = await writeWorkflow(
      cwd,
      'wf.yml',
      commandWorkflow('echo 2 > current', 'echo cannot reach host >&2; exit 1', '      health: [sh, -c, "exit 1"]\n    verify: { timeout: 2s, interval: 1s }\n    retry: { attempts: 2, initialDelay: 10ms }\n'),
    );
    const r = await cli(['run', wf], { cwd });
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/MANUAL INTERVENTION REQUIRED/);
    expect(r.stdout).toMatch(/revert release to 1/);
  });

  it('rolls back the step in flight on SIGINT and exits 130', async () => {
    const cwd = await workspace();
    await writeFile(join(cwd, 'current'), '1\n');
    const wf = await writeWorkflow(cwd, 'wf.yml', commandWorkflow('echo 2 > current; echo deploying; sleep 20', 'echo 1 > current'));
    const child = start(['run', wf], { cwd });
    await waitForOutput(child, (t) => t.includes('deploying'));
    child.kill('SIGINT');
    const r = await child.result;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/SIGINT received: stopping the step in flight and rolling back/);
    expect(r.stdout).toMatch(/rollback complete/);
    expect(await readFile(join(cwd, 'current'), 'utf8')).toBe('1\n');
  });

  it('finishes the rollback with resume after the process was killed mid-deploy', async () => {
    const cwd = await workspace();
    await writeFile(join(cwd, 'current'), '1\n');
    const wf = await writeWorkflow(cwd, 'wf.yml', commandWorkflow('echo 2 > current; echo deploying; sleep 20', 'echo 1 > current'));
    const child = start(['run', wf], { cwd });
    await waitForOutput(child, (t) => t.includes('deploying'));
    child.kill('SIGKILL');
    await child.result;
    expect(await readFile(join(cwd, 'current'), 'utf8')).toBe('2\n');
    const r = await cli(['resume'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/rolling back .* because the process running this stage stopped/);
    expect(await readFile(join(cwd, 'current'), 'utf8')).toBe('1\n');
  });
});

describe('the command-target example', () => {
  it('runs as the README shows, and a second run of the same version is a no-op', async () => {
    const cwd = await workspace();
    const first = await cli(['run', join(EXAMPLES, 'command-target.yml'), '--input', 'version=2.1.0'], { cwd });
    expect(first.code, first.stderr).toBe(0);
    expect(await readFile(join(cwd, '.rollgate/demo/current'), 'utf8')).toBe('2.1.0\n');
    const again = await cli(['run', join(EXAMPLES, 'command-target.yml'), '--input', 'version=2.1.0'], { cwd });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/release: re-deploy because 2\.1\.0 already runs/);
  });
});

describe('rollgate plan', () => {
  it('shows levels, steps and the condition verdict from live probes, changing nothing', async () => {
    const cwd = await workspace();
    const r = await cli(['plan', join(EXAMPLES, 'sim-pipeline.yml')], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/web-production → production: v2 via direct on sim — will run/);
    expect(r.stdout).toMatch(/probe database: ok value="up"/);
    expect(r.stdout).toMatch(/steps: deploy → verify → bake → verify-after-bake/);
    expect(existsSync(join(cwd, '.rollgate'))).toBe(false);
    const json = await cli(['plan', join(EXAMPLES, 'sim-pipeline.yml'), '--json'], { cwd });
    expect((JSON.parse(json.stdout) as { stages: unknown[] }).stages).toHaveLength(2);
  });
});
