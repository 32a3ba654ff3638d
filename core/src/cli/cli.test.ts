import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, type CliIO } from './cli.js';
import { InternalError } from '../errors.js';
import { reportError } from './commands.js';
import { contextFromEnv } from './context.js';

/* The CLI driven in-process (the spawned-binary tests live in tests/cli/). */
const EXAMPLES = resolve(import.meta.dirname, '../../../examples');

async function cli(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const signals: ((s: NodeJS.Signals) => void)[] = [];
  const io: CliIO = {
    out: { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) },
    env: { PATH: process.env.PATH, ...env },
    color: false,
    installSignals: (fn) => void signals.push(fn),
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr, signals };
}

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'rollgate-cli-unit-'));
}

describe('runCli', () => {
  it('answers --version, help topics and per-command --help', async () => {
    expect((await cli(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect((await cli([])).stdout).toMatch(/^rollgate: deployment workflows/);
    expect((await cli(['help', 'resume'])).stdout).toMatch(/^Usage: rollgate resume/);
    expect((await cli(['plan', '--help'])).stdout).toMatch(/^Usage: rollgate plan/);
  });

  it('rejects unknown commands and flags with exit code 2', async () => {
    expect(await cli(['deploy'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command 'deploy'/) });
    expect(await cli(['validate', '--stage', 'x'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/Unknown option '--stage'/) });
  });

  it('validates, prints warnings, and reports missing or extra arguments', async () => {
    const ok = await cli(['validate', join(EXAMPLES, 'sim-pipeline.yml')]);
    expect(ok).toMatchObject({ code: 0, stdout: expect.stringMatching(/valid \(workflow web: 2 stages, 2 environment\(s\), 2 probe\(s\)\)/) });
    expect(await cli(['validate'])).toMatchObject({ code: 2, stderr: 'rollgate validate: missing workflow FILE: rollgate validate FILE\n' });
    expect(await cli(['validate', 'a.yml', 'b.yml'])).toMatchObject({ code: 2, stderr: 'rollgate validate: unexpected arguments: b.yml\n' });
    const dir = await tmp();
    const wf = join(dir, 'wf.yml');
    await writeFile(wf, 'version: 1\nname: x\nenvironments: { e: {} }\nstages:\n  - name: s\n    environment: e\n    version: \"1\"\n    target: { type: command, deploy: ["true"] }\n');
    const warned = await cli(['validate', wf]);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toMatch(/^warning: .*wf\.yml:8:\d+: stages\[s\]\.target: failures in stage s cannot be rolled back automatically/);
  });

  it('plans as text and JSON, and refuses bad inputs', async () => {
    const text = await cli(['plan', join(EXAMPLES, 'sim-pipeline.yml'), '--env', 'production']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/level 0:\n {2}web-production → production: v2 via direct on sim — will run/);
    const json = await cli(['plan', join(EXAMPLES, 'bad-version.yml'), '--json', '--scenario', join(EXAMPLES, 'scenarios/rate-limited.yml')]);
    expect(JSON.parse(json.stdout)).toMatchObject({ workflow: 'web-bad-version', stages: [{ name: 'web', wouldRun: true }] });
    expect(await cli(['plan', join(EXAMPLES, 'sim-pipeline.yml'), '--input', 'novalue'])).toMatchObject({
      code: 2,
      stderr: "rollgate plan: --input 'novalue' must look like NAME=VALUE\n",
    });
  });

  it('shows approvers what each gate asks, in the plan', async () => {
    const dir = await tmp();
    const wf = join(dir, 'wf.yml');
    await writeFile(
      wf,
      [
        'version: 1',
        'name: x',
        'inputs: { version: { default: v2 } }',
        'environments: { e: {} }',
        'sim: { services: { web: { version: v1 } } }',
        'stages:',
        '  - name: web',
        '    environment: e',
        '    approval: { type: manual, message: "check the error budget" }',
        '    target: { type: sim, service: web }',
        '    router: { type: sim }',
        '    strategy: { type: canary, steps: [{ setWeight: 10 }, { approval: { message: "canary looks fine?" } }] }',
        '',
      ].join('\n'),
    );
    const text = await cli(['plan', wf]);
    expect(text.stdout).toContain('    approval: manual gate before any change: check the error budget\n');
    expect(text.stdout).toContain('    approval@2: approval: canary looks fine?\n');
    const json = JSON.parse((await cli(['plan', wf, '--json'])).stdout) as { stages: { approvalMessage: string }[] };
    expect(json.stages[0]?.approvalMessage).toBe('check the error budget');
  });

  it('shows a skipped stage and an undecidable condition in the plan', async () => {
    const dir = await tmp();
    const wf = join(dir, 'wf.yml');
    await writeFile(
      wf,
      [
        'version: 1',
        'name: x',
        'inputs: { version: { default: v2 } }',
        'environments: { e: {} }',
        'sim: { database: { up: false } }',
        'probes:',
        '  db: { type: sim, measure: database }',
        '  ver: { type: sim, measure: version, service: none }',
        'stages:',
        '  - { name: a, environment: e, target: { type: sim }, when: probes.db.ok }',
        '  - { name: b, environment: e, target: { type: sim }, when: "probes.ver.value > 2.0", approval: { type: manual } }',
        '',
      ].join('\n'),
    );
    const r = await cli(['plan', wf]);
    expect(r.stdout).toMatch(/a → e: v2 via direct on sim — will be SKIPPED/);
    expect(r.stdout).toMatch(/probe db: FAILED value="down"/);
    expect(r.stdout).toMatch(/b → e: v2 via direct on sim — cannot tell: condition 'probes.ver.value > 2.0' failed/);
    expect(r.stdout).toMatch(/approval: manual gate before any change/);
  });

  it('runs, pauses and resumes through the journal, installing signal handlers', async () => {
    const dir = await tmp();
    const state = join(dir, 'run.json');
    const paused = await cli(['run', join(EXAMPLES, 'approval-gate.yml'), '--state', state, '--actor', 'dana']);
    expect(paused.code).toBe(3);
    expect(paused.signals).toHaveLength(1);
    expect(paused.stdout).toMatch(/run web-gated-.* started by dana/);
    expect(await cli(['resume', '--state', state, '--approve', '--reject'])).toMatchObject({
      code: 2,
      stderr: 'rollgate resume: pass --approve or --reject, not both\n',
    });
    const resumed = await cli(['resume', '--state', state, '--approve', '--json', '--workflow', join(EXAMPLES, 'approval-gate.yml')], {
      GITHUB_ACTIONS: 'true',
      GITHUB_ACTOR: 'erin',
    });
    expect(resumed.code).toBe(0);
    const decided = resumed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; decision?: { by: string } })
      .find((e) => e.kind === 'approval.decided');
    expect(decided?.decision?.by).toBe('erin');
  });

  it('reports an unreadable or malformed scenario file with its position', async () => {
    const dir = await tmp();
    expect(await cli(['run', join(EXAMPLES, 'bad-version.yml'), '--scenario', join(dir, 'none.yml')])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^rollgate run: cannot read scenario file .*none\.yml: ENOENT/),
    });
    const broken = join(dir, 'broken.yml');
    await writeFile(broken, 'failures:\n  - kind: [bad-version\n');
    const r = await cli(['run', join(EXAMPLES, 'bad-version.yml'), '--scenario', broken]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid scenario:\n {2}- .*broken\.yml:\d+:\d+: /);
  });

  it('explains a missing journal', async () => {
    const dir = await tmp();
    expect(await cli(['resume', '--state', join(dir, 'none.json')])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^rollgate resume: no run journal at .*none\.json: pass the --state file that 'rollgate run' wrote\n$/),
    });
  });

  it('reports an unusable state path as invalid input', async () => {
    const dir = await tmp();
    await mkdir(join(dir, 'state-is-a-dir'));
    const r = await cli(['run', join(EXAMPLES, 'sim-pipeline.yml'), '--state', join(dir, 'state-is-a-dir')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read run journal .*state-is-a-dir: EISDIR/);
  });

  it('reports a bug as an unexpected error with exit code 70, with its stack under --debug', () => {
    let stderr = '';
    const io = { out: { stdout: () => {}, stderr: (s: string) => void (stderr += s) } };
    expect(reportError('run', new TypeError('x is undefined'), false, io)).toBe(70);
    expect(stderr).toBe('rollgate run: unexpected error: x is undefined (run with --debug for details)\n');
    stderr = '';
    expect(reportError('run', new InternalError('journal lost'), true, io)).toBe(70);
    expect(stderr).toMatch(/^InternalError: journal lost\n\s+at [\s\S]*rollgate run: journal lost\n$/);
  });
});

describe('contextFromEnv', () => {
  it('reads GitHub Actions variables', () => {
    expect(
      contextFromEnv({ GITHUB_ACTIONS: 'true', GITHUB_ACTOR: 'octo', GITHUB_REPOSITORY: 'acme/web', GITHUB_RUN_ID: '42', GITHUB_SHA: 'abc', GITHUB_REF: 'refs/heads/main' }),
    ).toEqual({
      actor: 'octo',
      ci: 'github',
      repository: 'acme/web',
      commit: 'abc',
      ref: 'refs/heads/main',
      runUrl: 'https://github.com/acme/web/actions/runs/42',
      commitUrl: 'https://github.com/acme/web/commit/abc',
    });
  });

  it('reads GitLab CI and Jenkins variables', () => {
    expect(
      contextFromEnv({ GITLAB_CI: 'true', GITLAB_USER_LOGIN: 'gl', CI_PROJECT_PATH: 'g/p', CI_JOB_URL: 'https://gitlab/j/1', CI_PROJECT_URL: 'https://gitlab/g/p', CI_COMMIT_SHA: 'def' }),
    ).toEqual({
      actor: 'gl',
      ci: 'gitlab',
      repository: 'g/p',
      commit: 'def',
      runUrl: 'https://gitlab/j/1',
      commitUrl: 'https://gitlab/g/p/-/commit/def',
    });
    expect(contextFromEnv({ JENKINS_URL: 'http://j', BUILD_USER_ID: 'jk', BUILD_URL: 'http://j/b/3' })).toEqual({ actor: 'jk', ci: 'jenkins', runUrl: 'http://j/b/3' });
    expect(contextFromEnv({ JENKINS_URL: 'http://j' }).actor).toBe('jenkins');
    // No JENKINS_URL when the controller's URL is not configured; JENKINS_HOME is always set.
    expect(contextFromEnv({ JENKINS_HOME: '/var/jenkins_home' }).ci).toBe('jenkins');
    // A multibranch build's BRANCH_NAME before the git plugin's origin/-prefixed GIT_BRANCH.
    expect(contextFromEnv({ JENKINS_URL: 'http://j', BRANCH_NAME: 'main', GIT_BRANCH: 'origin/main' }).ref).toBe('main');
    expect(contextFromEnv({ JENKINS_URL: 'http://j', GIT_BRANCH: 'origin/main' }).ref).toBe('origin/main');
  });

  it('names the CI job with its number, and the pull or merge request, on each platform', () => {
    expect(contextFromEnv({ GITHUB_ACTIONS: 'true', GITHUB_WORKFLOW: 'deploy', GITHUB_RUN_NUMBER: '56', GITHUB_REF: 'refs/pull/42/merge' })).toMatchObject({
      job: 'deploy #56',
      change: '#42',
    });
    expect(contextFromEnv({ GITHUB_ACTIONS: 'true', GITHUB_REF: 'refs/heads/main' })).not.toHaveProperty('change');
    expect(contextFromEnv({ GITLAB_CI: 'true', CI_JOB_NAME: 'deploy', CI_JOB_ID: '1234', CI_MERGE_REQUEST_IID: '12' })).toMatchObject({ job: 'deploy #1234', change: '!12' });
    expect(contextFromEnv({ JENKINS_URL: 'http://j', JOB_NAME: 'web/PR-42', BUILD_NUMBER: '7', CHANGE_ID: '42' })).toMatchObject({ job: 'web/PR-42 #7', change: 'PR-42' });
    expect(contextFromEnv({ JENKINS_URL: 'http://j', JOB_NAME: 'web' })).toMatchObject({ job: 'web' });
  });

  it('never carries the credentials a Jenkins clone URL may hold into the journal', () => {
    expect(contextFromEnv({ JENKINS_URL: 'http://j', GIT_URL: 'https://deploy:s3cr3t-token@git.example.com/acme/web.git' }).repository).toBe(
      'https://git.example.com/acme/web.git',
    );
    expect(contextFromEnv({ JENKINS_URL: 'http://j', GIT_URL: 'git@github.com:acme/web.git' }).repository).toBe('git@github.com:acme/web.git');
  });

  it('falls back to the local user, and honours an explicit actor', () => {
    expect(contextFromEnv({ USER: 'me' })).toEqual({ actor: 'me', ci: 'local' });
    expect(contextFromEnv({})).toEqual({ actor: 'local', ci: 'local' });
    expect(contextFromEnv({ GITHUB_ACTIONS: 'true' }, 'bot').actor).toBe('bot');
    expect(contextFromEnv({ GITLAB_CI: 'true' }).actor).toBe('unknown');
  });
});
