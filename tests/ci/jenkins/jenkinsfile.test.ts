import { cpSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { BASH, binDir, checkout, EXAMPLES, JENKINS_ENV, journal, offlinePreload, requireBuild, ROOT, run, shim, SHIM, STANDALONE, SYSTEM_NODE, tempDir } from './support.js';

/*
 * The shim with the real self-contained CLI beside it, end to end; then the shell commands of
 * examples/jenkins/Jenkinsfile.example replayed the way its stages run them (a gate between two
 * workspaces, the approver from the input step); then what can be checked of the Groovy without
 * a Jenkins: the flags it passes are ones the CLI takes, the shim it loads is this shim.
 */

beforeEach(requireBuild);

const JENKINSFILE = join(EXAMPLES, 'jenkins/Jenkinsfile.example');
const LIBRARY_STEP = join(ROOT, 'vars/rollgate.groovy');
const jenkinsfile = readFileSync(JENKINSFILE, 'utf8');
const libraryStep = readFileSync(LIBRARY_STEP, 'utf8');

/** A workspace as the checkout leaves it, with the self-contained CLI beside the shim. */
function workspace(): string {
  const dir = tempDir('rollgate-workspace-');
  checkout(dir, {
    'jenkins-shim/rollgate.sh': SHIM,
    'jenkins-shim/rollgate.mjs': STANDALONE,
    'examples/jenkins/rollgate.yml': join(EXAMPLES, 'jenkins/rollgate.yml'),
    'approval-gate.yml': join(EXAMPLES, 'approval-gate.yml'),
  });
  return dir;
}

/** A build's environment: Jenkins' variables, node on PATH, no network, no inherited secrets. */
function buildEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: binDir({ node: SYSTEM_NODE, bash: BASH }), HOME: dir, NO_COLOR: '1', NODE_OPTIONS: `--import ${offlinePreload(dir)}`, ...JENKINS_ENV, ...extra };
}

describe('the shim with the self-contained rollgate.mjs beside it', () => {
  it('run stops at the gate (3); resume --approve --by continues it (0); the journal and audit trail say who, where, what', async () => {
    const dir = workspace();
    const script = join(dir, 'jenkins-shim/rollgate.sh');
    const first = await shim(['run', 'approval-gate.yml'], { cwd: dir, env: buildEnv(dir), script });
    expect(first.code, first.stderr).toBe(3);
    // What core/src/cli/context.ts reads from a Jenkins build (ref: BRANCH_NAME before GIT_BRANCH).
    expect(journal(dir).context).toMatchObject({
      actor: JENKINS_ENV.BUILD_USER_ID,
      ci: 'jenkins',
      repository: JENKINS_ENV.GIT_URL,
      commit: JENKINS_ENV.GIT_COMMIT,
      ref: JENKINS_ENV.BRANCH_NAME,
      runUrl: JENKINS_ENV.BUILD_URL,
      job: `${JENKINS_ENV.JOB_NAME} #${JENKINS_ENV.BUILD_NUMBER}`,
      change: `PR-${JENKINS_ENV.CHANGE_ID}`,
    });

    const resumed = await shim(['resume', '--approve', '--by', 'bob', '--comment', 'dashboards are green'], { cwd: dir, env: buildEnv(dir, { BUILD_USER_ID: 'carol' }), script });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(journal(dir).status).toBe('succeeded');
    const audit = readdirSync(join(dir, '.rollgate/audit')).map((f) => readFileSync(join(dir, '.rollgate/audit', f), 'utf8')).join('');
    const decided = audit.split('\n').find((l) => l.includes('"approval.decided"')) ?? '';
    expect(JSON.parse(decided)).toMatchObject({ actor: 'carol', approval: { status: 'approved', by: 'bob', comment: 'dashboards are green' } });
    expect((await shim(['audit', 'verify', '.rollgate/audit'], { cwd: dir, env: buildEnv(dir), script })).code).toBe(0);
  });

  it('a rollout that fails through the shim exits 1, as the CLI does', async () => {
    const dir = workspace();
    checkout(dir, { 'canary.yml': join(EXAMPLES, 'canary.yml') });
    const r = await shim(['run', 'canary.yml', '--input', 'version=v3'], { cwd: dir, env: buildEnv(dir), script: join(dir, 'jenkins-shim/rollgate.sh') });
    expect(r.code).toBe(1);
    expect(journal(dir).status).toBe('rolled-back');
  });
});

/** The `sh(label: ..., returnStatus: true, script: '''...''')` steps, by label, as the shell gets them. */
function shellSteps(groovy: string): Map<string, string> {
  const steps = new Map<string, string>();
  for (const m of groovy.matchAll(/sh\(label: '([^']+)', returnStatus: true, script: '''([\s\S]*?)'''\)/g)) {
    // Groovy's ''' strings: a backslash before a newline joins the lines, and no $ is expanded.
    steps.set(m[1] as string, (m[2] as string).replace(/\\\n/g, ''));
  }
  return steps;
}

/** The pipeline's `environment { NAME = 'value' }`. */
function pipelineEnv(groovy: string): Record<string, string> {
  const block = /\n {2}environment \{([\s\S]*?)\n {2}\}/.exec(groovy)?.[1] ?? '';
  return Object.fromEntries([...block.matchAll(/^\s*(\w+) = '([^']*)'$/gm)].map((m) => [m[1] as string, m[2] as string]));
}

describe('examples/jenkins/Jenkinsfile.example, its shell steps replayed', () => {
  const steps = shellSteps(jenkinsfile);
  const env = pipelineEnv(jenkinsfile);

  it('has the two steps, each calling the shim, and its environment names the workflow and the journal', () => {
    expect([...steps.keys()]).toEqual(['rollgate run', 'rollgate resume']);
    for (const script of steps.values()) expect(script.trim()).toMatch(/^jenkins-shim\/rollgate\.sh (run|resume) /);
    expect(env).toEqual({ ROLLGATE_WORKFLOW: 'examples/jenkins/rollgate.yml', ROLLGATE_STATE: '.rollgate/run.json' });
  });

  /** Runs a step as `sh` does (set -e), and with -u: a variable the pipeline never sets fails. */
  const replay = (label: string, cwd: string, extra: Record<string, string>) =>
    run(BASH, ['-eu', '-c', steps.get(label) ?? `echo no step ${label} >&2; exit 99`], {
      cwd,
      env: buildEnv(cwd, { ...env, VERSION: 'v2', SLACK_BOT_TOKEN: 'xoxb-not-a-token', ...extra }),
      timeoutMs: 30_000,
    });

  /** Staging in one workspace; the journal stashed and unstashed into another for Production. */
  async function toTheGate(): Promise<{ staging: string; production: string }> {
    const staging = workspace();
    const r = await replay('rollgate run', staging, {});
    expect(r.code, r.stderr).toBe(3);
    const production = workspace();
    cpSync(join(staging, '.rollgate'), join(production, '.rollgate'), { recursive: true });
    return { staging, production };
  }

  it('approve: the input step answered by bob, with a comment that is only data; production deploys (0)', async () => {
    const { staging, production } = await toTheGate();
    const comment = 'LGTM "ship it" $(touch pwned) `touch pwned2`';
    const r = await replay('rollgate resume', production, { ROLLGATE_DECISION: 'approve', ROLLGATE_BY: 'bob', ROLLGATE_COMMENT: comment });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`approved by bob: ${comment}`);
    expect(journal(production).status).toBe('succeeded');
    for (const dir of [staging, production]) expect(readdirSync(dir).filter((f) => f.startsWith('pwned'))).toEqual([]);
  });

  it('reject (or an aborted, timed-out input): the run ends there, production untouched (1), which fails the build', async () => {
    const { production } = await toTheGate();
    const r = await replay('rollgate resume', production, { ROLLGATE_DECISION: 'reject', ROLLGATE_BY: 'jenkins', ROLLGATE_COMMENT: 'the gate was aborted or timed out in Jenkins' });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/production .* failed .* rejected by jenkins \(the gate was aborted or timed out in Jenkins\); nothing was changed/);
    expect(jenkinsfile).toMatch(/case 1:\s+error\(/);
  });
});

describe('examples/jenkins/Jenkinsfile.example and vars/rollgate.groovy, statically', () => {
  /** `rollgate COMMAND --help`, from the built CLI. */
  async function help(command: string): Promise<string> {
    const r = await run(SYSTEM_NODE, [STANDALONE, command, '--help'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '' } });
    expect(r.code).toBe(0);
    return r.stdout;
  }

  it('every flag the Jenkinsfile passes to the shim is one the CLI takes for that command', async () => {
    for (const script of shellSteps(jenkinsfile).values()) {
      const [, command, rest] = /rollgate\.sh (\w+) ([\s\S]*)/.exec(script) ?? [];
      const text = await help(command ?? '');
      const flags = [...(rest ?? '').matchAll(/(?:^|\s)--"?\$?(\w[\w-]*)/g)].map((m) => m[1] as string);
      expect(flags.length).toBeGreaterThan(0);
      for (const flag of flags) {
        // --"$ROLLGATE_DECISION" is --approve or --reject: the input's two choices.
        const names = flag === 'ROLLGATE_DECISION' ? ['approve', 'reject'] : [flag];
        for (const name of names) expect(text, `rollgate ${command} --${name}`).toMatch(new RegExp(`--${name}\\b`));
      }
    }
    expect(jenkinsfile).toMatch(/choices: \['approve', 'reject'\]/);
  });

  it('every flag the library step builds is one `rollgate resume` (or run, for --state) takes', async () => {
    const code = libraryStep.split('\n').filter((l) => !l.trimStart().startsWith('//')).join('\n');
    const flags = [...new Set([...code.matchAll(/'--([a-z-]+)'/g)].map((m) => m[1] as string))];
    expect(flags.sort()).toEqual(['approve', 'by', 'comment', 'reject', 'state', 'workflow']);
    const resume = await help('resume');
    for (const flag of flags) expect(resume, `rollgate resume --${flag}`).toMatch(new RegExp(`--${flag}\\b`));
    expect(await help('run')).toMatch(/--state PATH/);
  });

  it('the Jenkinsfile: an input gate with submitter, timeout and the approver; credentials; archived journal; one rollout at a time', () => {
    expect(jenkinsfile).toMatch(/timeout\(time: \d+, unit: 'HOURS'\) \{\s+Map answer = input\(/);
    expect(jenkinsfile).toMatch(/submitter: '[^']+'/);
    expect(jenkinsfile).toMatch(/submitterParameter: 'APPROVER'/);
    expect(jenkinsfile).toMatch(/env\.ROLLGATE_BY = answer\.APPROVER/);
    expect(jenkinsfile).toMatch(/withCredentials\(\[string\(credentialsId: '[^']+', variable: 'SLACK_BOT_TOKEN'\)\]\)/);
    expect(readFileSync(join(EXAMPLES, 'jenkins/rollgate.yml'), 'utf8')).toMatch(/tokenEnv: SLACK_BOT_TOKEN/);
    const archives = [...jenkinsfile.matchAll(/post \{\s+always \{\s+archiveArtifacts\(artifacts: '\.rollgate\/\*\*'/g)];
    expect(archives).toHaveLength(2);
    expect(jenkinsfile).toMatch(/options \{[^}]*disableConcurrentBuilds\(\)[^}]*lock\(resource: '[^']+'\)/);
    expect(jenkinsfile).toMatch(/stash\(name: 'rollgate', includes: '\.rollgate\/\*\*'/);
    expect(jenkinsfile).toMatch(/unstash 'rollgate'/);
  });

  it('no Groovy-interpolated shell: every sh script is a single-quoted string', () => {
    for (const text of [jenkinsfile, libraryStep]) {
      expect(text).not.toMatch(/(?:^|[^.\w])sh\s*\(?\s*"/m);
      expect(text).not.toMatch(/script:\s*"/);
    }
    expect(libraryStep).toMatch(/sh\(script: script, returnStatus: true/);
    expect(libraryStep).toContain(`words.collect { "'" + it.replace("'", "'\\"'\\"'") + "'" }`);
  });

  it('the library step: returns the exit code, asks at a gate with input (approver, timeout), resumes with the answer', () => {
    expect(libraryStep).toMatch(/^def call\(Map args = \[:\]\) \{/m);
    expect(libraryStep).toMatch(/while \(code == 3 && args\.gate\)/);
    expect(libraryStep).toMatch(/timeout\(time: gate\.timeout \?: 24, unit: gate\.unit \?: 'HOURS'\) \{\s+answer = input\(/);
    expect(libraryStep).toMatch(/submitterParameter: 'ROLLGATE_BY'/);
    expect(libraryStep).toMatch(/\n {2}return code\n\}/);
  });

  it('the shim is executable (the Jenkinsfile runs it by its path) and runs with bash', () => {
    expect(statSync(SHIM).mode & 0o111).toBe(0o111);
    const text = readFileSync(SHIM, 'utf8');
    expect(text.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(text).toContain('\nset -euo pipefail\n');
  });

  it('the shim the library step loads (libraryResource) is this shim, byte for byte', () => {
    const resource = /libraryResource\('([^']+)'\)/.exec(libraryStep)?.[1] ?? '';
    expect(resource).toBe('io/rollgate/rollgate.sh');
    const copy = join(ROOT, 'resources', resource);
    expect(existsSync(copy), `${copy} is missing: a shared library's files reach agents only from resources/; copy jenkins-shim/rollgate.sh there`).toBe(true);
    expect(readFileSync(copy, 'utf8'), `${copy} differs from jenkins-shim/rollgate.sh: copy it again`).toBe(readFileSync(SHIM, 'utf8'));
  });
});
