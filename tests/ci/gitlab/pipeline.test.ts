import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifact, CLI, dotenvOf, exampleRepository, gitlabCiLocal, jobLog, NODE24, requirePrerequisites } from './support.js';

/*
 * The example pipeline (examples/gitlab), run by gitlab-ci-local as GitLab runs it: the component
 * included from its project at a version with its inputs, the `deploy` job running the staging
 * canary up to production's gate, and the manual jobs played in a later invocation, as a person
 * plays them after the approval. The journal reaches them only as `deploy`'s artifact.
 */

const RUN_ID = /^web-\d{8}-\d{6}-[0-9a-f]{6}$/;
const HASH = /^[0-9a-f]{64}$/;
const dirs: string[] = [];
/** The example pipeline run once up to the gate; each test plays the gate in a copy of it. */
let base: { dir: string; output: string; paused: Record<string, string> };

beforeAll(async () => {
  requirePrerequisites();
  const dir = await exampleRepository();
  dirs.push(dir);
  const first = await gitlabCiLocal(dir);
  expect(first.code, first.output).toBe(0);
  base = { dir, output: first.output, paused: (await dotenvOf(dir, 'deploy')) as Record<string, string> };
}, 120_000);
afterAll(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A copy of the paused pipeline (repository, artifacts and all), as if the gate were played there. */
async function pausedPipeline() {
  const dir = `${base.dir}-${dirs.length}`;
  await cp(base.dir, dir, { recursive: true });
  dirs.push(dir);
  return { dir, first: { output: base.output }, paused: base.paused };
}

const journalOf = (dir: string, job: string) => JSON.parse(readFileSync(artifact(dir, job, '.rollgate/run.json'), 'utf8'));

describe('the example GitLab pipeline, run by gitlab-ci-local', () => {
  it('stops at the gate with the job green and the dotenv saying so; playing `production` resumes it from the journal artifact', async () => {
    const { dir, first, paused } = await pausedPipeline();
    // The run job: a gate is not a failure. The manual jobs wait to be played.
    expect(first.output).toMatch(/PASS\s+deploy/);
    expect(first.output).not.toMatch(/production\s+starting/);
    expect(first.output).toContain('deploy environment: { name: staging, url:  }');
    const log = jobLog(first.output, 'deploy');
    expect(log).toContain('run paused at production/approval-production');
    expect(log).toContain("rollgate: paused at a gate; the job that resumes the run continues it with this job's artifacts");
    expect(paused).toEqual({
      ROLLGATE_RESULT: 'paused',
      ROLLGATE_EXIT_CODE: '3',
      ROLLGATE_MODE: 'run',
      ROLLGATE_STATE: '.rollgate/run.json',
      ROLLGATE_RUN_ID: expect.stringMatching(RUN_ID),
      ROLLGATE_RUN_STATUS: 'paused',
      ROLLGATE_PAUSED_STAGE: 'production',
      ROLLGATE_PAUSED_GATE: 'approval-production',
      ROLLGATE_AUDIT_PATH: `.rollgate/audit/${paused.ROLLGATE_RUN_ID}.jsonl`,
      ROLLGATE_AUDIT_HEAD: expect.stringMatching(HASH),
    });
    const journal = journalOf(dir, 'deploy');
    expect(journal).toMatchObject({ runId: paused.ROLLGATE_RUN_ID, status: 'paused', context: { ci: 'gitlab', actor: 'alice', repository: 'acme/web', ref: 'main' } });
    expect(journal.stages.staging.status).toBe('succeeded');
    expect(existsSync(artifact(dir, 'deploy', paused.ROLLGATE_AUDIT_PATH as string))).toBe(true);

    // Someone approves and plays the job: the run resumes in another workspace, from the artifact.
    const second = await gitlabCiLocal(dir, { jobs: ['production'], variables: { GITLAB_USER_LOGIN: 'bob' } });
    expect(second.code, second.output).toBe(0);
    expect(second.output).toMatch(/PASS\s+production/);
    expect(second.output).toContain('production environment: { name: production, url: https://web.example.internal }');
    expect(jobLog(second.output, 'production')).toContain(`rollgate: resuming run ${paused.ROLLGATE_RUN_ID} paused at approval-production (--approve)`);
    const done = await dotenvOf(dir, 'production');
    expect(done).toMatchObject({
      ROLLGATE_RESULT: 'succeeded',
      ROLLGATE_EXIT_CODE: '0',
      ROLLGATE_MODE: 'resume',
      ROLLGATE_RUN_ID: paused.ROLLGATE_RUN_ID,
      ROLLGATE_RUN_STATUS: 'succeeded',
      ROLLGATE_ENVIRONMENT_URL: 'https://web.example.internal',
      ROLLGATE_AUDIT_HEAD: expect.stringMatching(HASH),
    });
    expect(done).not.toHaveProperty('ROLLGATE_PAUSED_GATE');
    const resumed = journalOf(dir, 'production');
    expect(resumed.status).toBe('succeeded');
    expect(resumed.stages.production).toMatchObject({ status: 'succeeded', approval: { status: 'approved', by: 'bob' } });

    // One audit trail across both jobs: it verifies, and ends where the dotenv says it ends.
    const trail = artifact(dir, 'production', done?.ROLLGATE_AUDIT_PATH as string);
    const lines = readFileSync(trail, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; hash: string });
    expect(lines[0]?.kind).toBe('run.started');
    expect(lines.map((l) => l.hash)).toContain(paused.ROLLGATE_AUDIT_HEAD);
    const verify = spawnSync(NODE24, [CLI, 'audit', 'verify', trail, '--head', done?.ROLLGATE_AUDIT_HEAD as string], { encoding: 'utf8' });
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
  }, 120_000);

  it('played with ROLLGATE_DECISION=reject, the gate job ends the run without touching production, and still reports', async () => {
    const { dir, paused } = await pausedPipeline();
    const rejected = await gitlabCiLocal(dir, { jobs: ['production'], variables: { GITLAB_USER_LOGIN: 'carol', ROLLGATE_DECISION: 'reject' } });
    expect(rejected.code).not.toBe(0);
    expect(rejected.output).toMatch(/FAIL\s+production/);
    expect(jobLog(rejected.output, 'production')).toContain(`rollgate: resuming run ${paused.ROLLGATE_RUN_ID} paused at approval-production (--reject)`);
    expect(await dotenvOf(dir, 'production')).toMatchObject({
      ROLLGATE_RESULT: 'failed',
      ROLLGATE_EXIT_CODE: '1',
      ROLLGATE_RUN_ID: paused.ROLLGATE_RUN_ID,
      ROLLGATE_RUN_STATUS: 'failed',
    });
    const journal = journalOf(dir, 'production');
    expect(journal.stages.production).toMatchObject({
      status: 'failed',
      message: 'rejected by carol; nothing was changed',
      approval: { status: 'rejected', by: 'carol' },
      steps: [],
    });
  }, 120_000);

  it('a bad version rolls back: the job fails with exit code 1, and the journal, audit trail and dotenv are still uploaded', async () => {
    const dir = await exampleRepository();
    dirs.push(dir);
    const run = await gitlabCiLocal(dir, { inputs: { 'workflow-inputs': 'version=v3' } });
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/FAIL\s+deploy/);
    expect(jobLog(run.output, 'deploy')).toContain('analysis failed: error-rate');
    const failed = await dotenvOf(dir, 'deploy');
    expect(failed).toMatchObject({ ROLLGATE_RESULT: 'failed', ROLLGATE_EXIT_CODE: '1', ROLLGATE_RUN_STATUS: 'rolled-back' });
    expect(failed).not.toHaveProperty('ROLLGATE_PAUSED_GATE');
    expect(journalOf(dir, 'deploy').stages).toMatchObject({ staging: { status: 'rolled-back' }, production: { status: 'skipped' } });
    expect(existsSync(artifact(dir, 'deploy', failed?.ROLLGATE_AUDIT_PATH as string))).toBe(true);
  }, 120_000);

  it('after a run that did not pause, the gate job finds nothing to resume and says how the run ended', async () => {
    const dir = await exampleRepository();
    dirs.push(dir);
    // Only the staging stage: the run ends without reaching the gate.
    const inputs = { 'workflow-stages': 'staging' };
    expect((await gitlabCiLocal(dir, { inputs })).code).toBe(0);
    expect(await dotenvOf(dir, 'deploy')).toMatchObject({ ROLLGATE_RESULT: 'succeeded', ROLLGATE_EXIT_CODE: '0', ROLLGATE_RUN_STATUS: 'succeeded' });
    const late = await gitlabCiLocal(dir, { jobs: ['production'], inputs });
    expect(late.code, late.output).toBe(0);
    expect(jobLog(late.output, 'production')).toContain('rollgate: the run already ended (succeeded) before this job: nothing to resume');
    expect(await dotenvOf(dir, 'production')).toMatchObject({ ROLLGATE_RESULT: 'succeeded', ROLLGATE_MODE: 'resume', ROLLGATE_RUN_STATUS: 'succeeded' });
  }, 120_000);
});
