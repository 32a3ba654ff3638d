import { describe, expect, it } from 'vitest';
import { closest, findSecret, type Finding, rules, runRules, suggest } from './rules.js';
import { workflowSchema, type WorkflowInput } from './schema.js';

type StageInput = WorkflowInput['stages'][number];

const stage = (name: string, extra: Partial<StageInput> = {}): StageInput => ({
  name,
  environment: 'staging',
  target: { type: 'sim' },
  ...extra,
});

function base(extra: Partial<WorkflowInput> = {}): WorkflowInput {
  return {
    version: 1,
    name: 'web',
    inputs: { version: { default: 'v1' } },
    environments: { staging: { variables: { HOST: 'staging.internal' } }, prod: {} },
    stages: [stage('a')],
    ...extra,
  };
}

/** The findings of one rule, as `severity path: message` lines. */
function check(ruleName: string, input: WorkflowInput): string[] {
  const rule = rules.find((r) => r.name === ruleName);
  if (!rule) throw new Error(`no rule ${ruleName}`);
  const raw = JSON.parse(JSON.stringify(input)) as unknown;
  const findings: Finding[] = rule.input === 'raw' ? rule.check(raw) : rule.check(workflowSchema.parse(raw), raw);
  return findings.map((f) => `${f.severity} ${f.path.join('.')}: ${f.message}`);
}

describe('rules', () => {
  it('have unique names', () => {
    expect(new Set(rules.map((r) => r.name)).size).toBe(rules.length);
  });

  it('find nothing in a sound workflow', () => {
    const raw = base({ stages: [stage('a'), stage('b', { needs: ['a'], environment: 'prod' })] });
    expect(runRules(workflowSchema.parse(raw), raw)).toEqual([]);
  });

  it('run only the raw rules when there is no typed workflow', () => {
    const raw = { stages: [{ name: 'x' }, { name: 'x' }], token: ['xo', 'xp-', 'not-a-real-token'].join('') };
    expect(runRules(undefined, raw).map((f) => f.path.join('.'))).toEqual(['stages.1.name', 'token']);
  });
});

describe('needs-exist and no-cycles', () => {
  it('reports unknown, self and repeated needs', () => {
    const input = base({ stages: [stage('build'), stage('deploy', { needs: ['deploy', 'biuld', 'build', 'build'] })] });
    expect(check('needs-exist', input)).toEqual([
      "error stages.1.needs.0: stage 'deploy' cannot need itself",
      "error stages.1.needs.1: unknown stage 'biuld' in needs; stages: build, deploy; did you mean 'build'?",
      "warning stages.1.needs.3: 'build' is listed twice in needs",
    ]);
  });

  it('reports each cycle once, from the stage that comes first in the file', () => {
    const input = base({
      stages: [
        stage('x', { needs: ['z'] }),
        stage('y', { needs: ['x', 'y'] }),
        stage('z', { needs: ['y'] }),
        stage('p', { needs: ['q', 'x', 'missing'] }),
        stage('q', { needs: ['p'] }),
      ],
    });
    expect(check('no-cycles', input)).toEqual([
      'error stages.0.needs.0: needs form a cycle: x → z → y → x; none of these stages can start. Remove one of these needs',
      'error stages.3.needs.0: needs form a cycle: p → q → p; none of these stages can start. Remove one of these needs',
    ]);
  });

  it('accepts a diamond', () => {
    const input = base({ stages: [stage('a'), stage('b', { needs: ['a'] }), stage('c', { needs: ['a'] }), stage('d', { needs: ['b', 'c'] })] });
    expect(check('no-cycles', input)).toEqual([]);
  });
});

describe('environments-exist', () => {
  it('lists the known environments, or says there are none', () => {
    expect(check('environments-exist', base({ stages: [stage('a', { environment: 'stagin' })] }))).toEqual([
      "error stages.0.environment: unknown environment 'stagin'; environments: staging, prod; did you mean 'staging'?",
    ]);
    expect(check('environments-exist', base({ environments: {} }))).toEqual([
      "error stages.0.environment: unknown environment 'staging'; no environments are declared: add it under `environments`",
    ]);
  });
});

describe('conditions', () => {
  it('checks syntax and every name a condition uses', () => {
    const input = base({
      probes: { db: { type: 'tcp', host: 'db', port: 5432 } },
      stages: [
        stage('a', { when: 'probes.db.ok && (' }),
        stage('b', { when: 'probes.dbb.ok && inputs.version == "v1" && inputs.force && vars.HOST != "" && vars.ZONE == ""' }),
        stage('c', { when: 'vars.ANY == ""', environment: 'nowhere' }),
      ],
    });
    expect(check('conditions', input)).toEqual([
      expect.stringMatching(/^error stages\.0\.when: cannot parse condition 'probes\.db\.ok && \(': .*; conditions are CEL/),
      "error stages.1.when: condition uses probes.dbb, but no probe 'dbb' is declared; probes: db; did you mean 'db'?",
      "error stages.1.when: condition uses inputs.force, but input 'force' is not declared; declare it under inputs (declared inputs: version)",
      "error stages.1.when: condition uses vars.ZONE, but environment 'staging' has no variable 'ZONE'; its variables: HOST",
    ]);
  });

  it('says when there are no probes at all', () => {
    expect(check('conditions', base({ stages: [stage('a', { when: 'probes.up.ok' })] }))).toEqual([
      "error stages.0.when: condition uses probes.up, but no probe 'up' is declared; probes: none",
    ]);
  });
});

describe('placeholders', () => {
  it('accepts the stage scope: inputs, vars, stage and environment', () => {
    const input = base({ stages: [stage('a', { version: '{{ inputs.version }}-{{ vars.HOST }}-{{ stage }}-{{ environment }}' })] });
    expect(check('placeholders', input)).toEqual([]);
  });

  it('reports undeclared inputs, unset variables and unknown placeholders', () => {
    const input = base({
      inputs: { tag: {} },
      stages: [stage('a'), stage('b', { version: '{{ inputs.tga }}{{ vars.NOPE }}{{ stage.name }}{{ inputs.tag }}' })],
    });
    expect(check('placeholders', input)).toEqual([
      "error stages.0.version: the default version '{{ inputs.version }}': input 'version' is not declared; declare it under inputs (declared inputs: tag); or set this stage's version",
      "error stages.1.version: '{{ inputs.tga }}': input 'tga' is not declared; declare it under inputs (declared inputs: tag); did you mean 'tag'?",
      "error stages.1.version: '{{ vars.NOPE }}': environment 'staging' has no variable 'NOPE'; its variables: HOST",
      "error stages.1.version: '{{ stage.name }}': not a known placeholder; use {{ inputs.NAME }}, {{ vars.NAME }}, {{ stage }}, {{ environment }}",
      "warning stages.1.version: '{{ inputs.tag }}' has no value unless the run gives one; give the input a default or set required: true",
    ]);
  });

  it('checks http probe urls and headers against the environments of the stages that use them', () => {
    const input = base({
      environments: { staging: { variables: { HOST: 's' } }, prod: { variables: { OTHER: 'x' } }, dev: {} },
      probes: {
        used: { type: 'http', url: 'https://{{ vars.HOST }}/', headers: { 'X-Run': '{{ inputs.version }}', 'X-Bad': '{{ inputs.nope }}' } },
        unused: { type: 'http', url: 'https://{{ vars.HOST }}/' },
        nowhere: { type: 'http', url: 'https://{{ vars.MISSING }}/' },
        plain: { type: 'tcp', host: 'x', port: 1 },
      },
      stages: [stage('a', { environment: 'prod', when: 'probes.used.ok' })],
    });
    expect(check('placeholders', input)).toEqual([
      "warning probes.used.url: '{{ vars.HOST }}' is not set in environment prod, so probe 'used' fails there",
      "error probes.used.headers.X-Bad: '{{ inputs.nope }}': input 'nope' is not declared; declare it under inputs (declared inputs: version)",
      "warning probes.unused.url: '{{ vars.HOST }}' is not set in environments prod, dev, so probe 'unused' fails there",
      "error probes.nowhere.url: '{{ vars.MISSING }}': no environment sets variable 'MISSING'",
    ]);
  });
});

describe('placeholders in metric queries', () => {
  const analysis = (query: string) => ({ metrics: [{ name: 'errors', query, successCondition: 'result < 0.05' }] });
  const canary = (name: string, environment: string, step: Record<string, unknown>) =>
    stage(name, { environment, router: { type: 'sim' }, strategy: { type: 'canary', steps: [{ setWeight: 10 }, { analysis: step }] } } as Partial<StageInput>);

  it('accepts inputs, vars, stage and environment in an inline query and in a template every user of which sets the variable', () => {
    const input = base({
      environments: { staging: { variables: { JOB: 'web' } }, prod: { variables: { JOB: 'web' } } },
      analyses: { errors: analysis('rate(errors{job="{{ vars.JOB }}",version="{{ inputs.version }}"}[1m])') },
      stages: [
        canary('a', 'staging', analysis('sum(x{stage="{{ stage }}",env="{{ environment }}"})')),
        canary('b', 'prod', { templates: ['errors'] }),
      ],
    });
    expect(check('placeholders', input)).toEqual([]);
  });

  it('says which placeholder, where, and which stages lack a variable a template needs', () => {
    const input = base({
      inputs: { version: { default: 'v1' }, tag: {} },
      environments: { staging: { variables: { JOB: 'web' } }, prod: {}, dev: {} },
      analyses: {
        errors: analysis('rate(errors{job="{{ vars.JOB }}"}[1m])'),
        unused: analysis('up{job="{{ vars.NOWHERE }}"}'),
      },
      stages: [
        canary('a', 'staging', analysis('x{v="{{ inputs.tga }}",t="{{ inputs.tag }}",s="{{ stage.name }}"}')),
        canary('b', 'prod', { templates: ['errors'] }),
        canary('c', 'dev', { templates: ['errors'] }),
      ],
    });
    expect(check('placeholders', input)).toEqual([
      "error stages.0.strategy.steps.1.analysis.metrics.0.query: '{{ inputs.tga }}': input 'tga' is not declared; declare it under inputs (declared inputs: version, tag); did you mean 'tag'?",
      "warning stages.0.strategy.steps.1.analysis.metrics.0.query: '{{ inputs.tag }}' has no value unless the run gives one; give the input a default or set required: true",
      "error stages.0.strategy.steps.1.analysis.metrics.0.query: '{{ stage.name }}': not a known placeholder; use {{ inputs.NAME }}, {{ vars.NAME }}, {{ stage }}, {{ environment }}",
      "error analyses.errors.metrics.0.query: '{{ vars.JOB }}': variable 'JOB' is not set in the environment of stages b, c, which use this template",
      "error analyses.unused.metrics.0.query: '{{ vars.NOWHERE }}': no environment sets variable 'NOWHERE'",
    ]);
  });
});

describe('input-defaults', () => {
  it('requires a default to be one of the allowed values', () => {
    const input = base({ inputs: { version: { default: 'v1' }, region: { default: 'asia', allowed: ['eu', 'us'] }, ok: { default: 'eu', allowed: ['eu'] } } });
    expect(check('input-defaults', input)).toEqual(["error inputs.region.default: default 'asia' is not one of the allowed values: eu, us"]);
  });

  it('checks patterns (RE2), defaults against the rule of their input, and control characters in allowed values', () => {
    const input = base({
      inputs: {
        version: { default: 'v1' },
        back: { pattern: '(a)\\1' },
        note: { default: 'two words' },
        tag: { default: 'v1', pattern: 'v[0-9]+' },
        bad: { default: 'x1', pattern: '[a-z]+' },
        zone: { allowed: ['eu', 'us\nwest'] },
      },
    });
    expect(check('input-defaults', input)).toEqual([
      "error inputs.back.pattern: pattern '(a)\\1' is not a valid RE2 regular expression (invalid escape sequence: `\\1`); RE2 has no backreferences or lookaround",
      "error inputs.note.default: the default does not fit: input 'note' is 'two words': it contains a space; an input may hold letters, digits and ._-+/:@=,~, at most 256 characters, not starting with -; set inputs.note.pattern to accept other values",
      "error inputs.bad.default: the default does not fit: input 'bad' is 'x1': it does not match inputs.bad.pattern '[a-z]+'",
      "error inputs.zone.allowed.1: allowed value 'us\\nwest' contains a control character (newline), which is never accepted in an input",
    ]);
  });
});

describe('version-text', () => {
  it('refuses a version whose own text no run could deploy, placeholders aside', () => {
    const input = base({
      stages: [
        stage('a'),
        stage('b', { version: 'web {{ inputs.version }}' }),
        stage('c', { version: '{{ inputs.version }}-{{ vars.HOST }}' }),
        stage('d', { version: '--{{ inputs.version }}' }),
        stage('e', { version: '{{ commit.sha }}' }),
      ],
    });
    expect(check('version-text', input)).toEqual([
      "error stages.1.version: version 'web {{ inputs.version }}' contains a space; a version may hold letters, digits and ._-+/:@=,~, at most 256 characters, not starting with -",
      "error stages.3.version: version '--{{ inputs.version }}' starts with -, which a command would read as an option; a version may hold letters, digits and ._-+/:@=,~, at most 256 characters, not starting with -",
    ]);
  });
});

describe('environment-names', () => {
  it('refuses inputs and variables whose names become one environment variable, at the second name', () => {
    const input = base({
      inputs: { version: { default: 'v1' }, region: {}, REGION: {} },
      environments: {
        staging: { variables: { 'db-host': 'a', db_host: 'b', 'API HOST': 'c', API_HOST: 'd', ok: 'e' } },
        prod: { variables: { 'db-host': 'a' } },
      },
    });
    expect(check('environment-names', input)).toEqual([
      "error inputs.REGION: inputs 'region' and 'REGION' both become ROLLGATE_INPUT_REGION in commands and probes; rename one of them",
      "error environments.staging.variables.db_host: variables 'db-host' and 'db_host' of environment 'staging' both become ROLLGATE_VAR_DB_HOST in commands and probes; rename one of them",
      "error environments.staging.variables.API_HOST: variables 'API HOST' and 'API_HOST' of environment 'staging' both become ROLLGATE_VAR_API_HOST in commands and probes; rename one of them",
    ]);
  });
});

describe('shell-commands and revertable-targets', () => {
  const command = (extra: Record<string, unknown>) => stage('a', { target: { type: 'command', deploy: ['./deploy.sh'], ...extra } as never });

  it('rejects script text without a shell and placeholders inside scripts', () => {
    const input = base({
      probes: { ready: { type: 'command', run: { run: 'check {{ stage }} {{ environment }} {{ other }}', shell: 'sh' } } },
      stages: [
        command({
          deploy: { run: 'deploy {{ inputs.version }} {{ vars.my-var }}', shell: true },
          health: { run: 'curl -f localhost' },
          current: { run: ['cat', '{{ inputs.version }}'], shell: true },
          revert: ['./revert.sh'],
        }),
      ],
    });
    expect(check('shell-commands', input)).toEqual([
      `error stages.0.target.current.run.1: placeholders are not expanded in commands; read $ROLLGATE_INPUT_VERSION for {{ inputs.version }} from the environment (e.g. [sh, -c, 'deploy "$ROLLGATE_VERSION"'])`,
      'error stages.0.target.deploy.run: placeholders are not expanded in shell scripts; use $ROLLGATE_INPUT_VERSION for {{ inputs.version }}, $ROLLGATE_VAR_MY_VAR for {{ vars.my-var }}',
      'error stages.0.target.health.run: script text needs `shell: true` (or sh, bash) to run; or give an argv list such as [kubectl, apply, -f, web.yaml], which runs without a shell',
      'error probes.ready.run.run: placeholders are not expanded in shell scripts; use $ROLLGATE_STAGE for {{ stage }}, $ROLLGATE_ENVIRONMENT for {{ environment }}, $ROLLGATE_INPUT_<NAME> / $ROLLGATE_VAR_<NAME> for {{ other }}',
    ]);
  });

  it('checks the commands of the fleet target, the command router and command metric providers too', () => {
    const input = base({
      metricProviders: { mine: { type: 'command', run: { run: 'errors {{ stage }}' } } },
      stages: [
        stage('a', {
          target: { type: 'fleet', hosts: ['h1'], deploy: ['./deploy.sh', '{{ inputs.version }}'], health: ['./health.sh'], revert: ['./revert.sh'] } as never,
          router: { type: 'command', set: { run: 'lb set {{ environment }}', shell: true }, get: ['lb', 'get'] } as never,
        }),
      ],
    });
    expect(check('shell-commands', input)).toEqual([
      `error stages.0.target.deploy.1: placeholders are not expanded in commands; read $ROLLGATE_INPUT_VERSION for {{ inputs.version }} from the environment (e.g. [sh, -c, 'deploy "$ROLLGATE_VERSION"'])`,
      'error stages.0.router.set.run: placeholders are not expanded in shell scripts; use $ROLLGATE_ENVIRONMENT for {{ environment }}',
      'error metricProviders.mine.run.run: script text needs `shell: true` (or sh, bash) to run; or give an argv list such as [kubectl, apply, -f, web.yaml], which runs without a shell',
    ]);
  });

  it('warns when a command target cannot be rolled back', () => {
    expect(check('revertable-targets', base({ stages: [command({})] }))).toEqual([
      'warning stages.0.target: failures in stage a cannot be rolled back automatically: the command target has no revert command (it would get $ROLLGATE_PREVIOUS_VERSION)',
    ]);
    expect(check('revertable-targets', base({ stages: [command({ revert: ['./revert.sh'] })] }))).toEqual([]);
  });
});

describe('inlined-secrets', () => {
  // Built at run time so that this file holds nothing shaped like a credential.
  const join = (...parts: string[]) => parts.join('');

  it.each([
    ['a Slack token', join('xo', 'xb-', '1234-not-real-at-all')],
    ['a Slack app token', join('xa', 'pp-1-', 'A0000-not-real')],
    ['a Slack webhook URL', join('https://hooks.', 'slack.com/services/', 'EXAMPLE/EXAMPLE/x')],
    ['a Teams webhook URL', join('https://acme.webhook.', 'office.com/webhookb2/x')],
    ['a GitHub token', join('gh', 's_', 'x'.repeat(36))],
    ['a GitHub token', join('github', '_pat_', 'x'.repeat(40))],
    ['a GitLab token', join('gl', 'pat-', 'x'.repeat(20))],
    ['an AWS access key id', join('AK', 'IA', 'X'.repeat(16))],
    ['a private key', join('-----BEGIN RSA ', 'PRIVATE KEY-----\nx')],
    ['a password in a URL', 'https://deploy:pa55word@registry.example.com/v2/'],
  ])('recognises %s', (kind, text) => {
    expect(findSecret(`prefix ${text} suffix`)).toBe(kind);
  });

  it.each([
    'SLACK_BOT_TOKEN',
    'postgres://admin:{{ vars.DB_PASSWORD }}@db/shop',
    'https://user:$PASSWORD@host/',
    'https://example.com/a:b@c',
    'xoxb-short',
    'AKIA-not-a-key',
  ])('leaves %s alone', (text) => {
    expect(findSecret(text)).toBeUndefined();
  });

  it('scans every string in the file, keys excepted', () => {
    const token = join('gl', 'pat-', 'x'.repeat(20));
    const input = base({ description: token, stages: [stage('a', { description: `see ${token}` })] });
    expect(check('inlined-secrets', input)).toEqual([
      'error stages.0.description: looks like an inlined secret (a GitLab token); put it in an environment variable and reference it by name',
      'error description: looks like an inlined secret (a GitLab token); put it in an environment variable and reference it by name',
    ]);
  });
});

describe('unique-stage-names', () => {
  it('points at every repeat and names the first use', () => {
    const raw = base({ stages: [stage('a'), stage('b'), stage('a'), stage('a')] });
    expect(check('unique-stage-names', raw)).toEqual([
      "error stages.2.name: duplicate stage name 'a' (already used by stages[0]); stage names must be unique",
      "error stages.3.name: duplicate stage name 'a' (already used by stages[0]); stage names must be unique",
    ]);
  });

  it('ignores files without a list of stages', () => {
    const rule = rules.find((r) => r.name === 'unique-stage-names');
    expect(rule?.input === 'raw' && rule.check({ stages: 'x' })).toEqual([]);
    expect(rule?.input === 'raw' && rule.check([{ name: 1 }])).toEqual([]);
  });
});

describe('suggestions', () => {
  it('offer a close candidate only', () => {
    expect(closest('stagin', ['staging', 'prod'])).toBe('staging');
    expect(closest('Needs', ['needs'])).toBe('needs');
    expect(closest('prod', ['production'])).toBeUndefined();
    expect(closest('a', ['a'])).toBeUndefined();
    expect(suggest('biuld', ['build'])).toBe("; did you mean 'build'?");
    expect(suggest('xyz', ['build'])).toBe('');
  });
});

describe('placeholders in argv commands', () => {
  it('are rejected with the environment variable to use instead', async () => {
    const { parseWorkflow } = await import('./load.js');
    const text = [
      'version: 1',
      'name: web',
      'inputs: { version: { default: v1 } }',
      'environments: { prod: {} }',
      'stages:',
      '  - name: web',
      '    environment: prod',
      '    target:',
      '      type: command',
      "      deploy: [sh, -c, 'kubectl set image deploy/web web={{ inputs.version }}']",
      '      revert: { run: [echo, "{{ vars.region }}"] }',
      '',
    ].join('\n');
    const result = parseWorkflow(text, 'wf.yml');
    expect(result.ok).toBe(false);
    const messages = result.ok ? [] : result.errors.map((e) => `${e.line}:${e.path}: ${e.message}`);
    expect(messages).toEqual([
      expect.stringMatching(/^10:stages\[web\]\.target\.deploy\[2\]: placeholders are not expanded in commands; read \$ROLLGATE_INPUT_VERSION for \{\{ inputs\.version \}\}/),
      expect.stringMatching(/^11:stages\[web\]\.target\.revert\.run\[1\]: placeholders are not expanded in commands; read \$ROLLGATE_VAR_REGION/),
    ]);
  });
});
