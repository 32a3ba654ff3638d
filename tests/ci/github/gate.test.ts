import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunJournal } from '../../../core/src/index.js';
import { startFakeGitHub, type FakeGitHub } from './fake-github.js';
import { githubEnv, lastHash, mainAndPost, NODES, readJson, ROOT, workspace, type Job } from './support.js';

/*
 * The gate pattern of examples/github/deploy.yml, job by job, with the bundled action run as the
 * runner runs it: `staging` runs up to the gate (the step succeeds with result=paused and the
 * journal uploaded), `production` resumes it with decision: approve (the approver recorded is
 * the reviewer GitHub reports, not the pusher), and `cleanup` rejects a gate no one approved.
 */
const WORKFLOW = 'examples/github/rollgate.yml';
const outputNames = Object.keys((parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as { outputs: object }).outputs).sort();

describe.each(NODES)('the gate pattern, under %s', (_label, node) => {
  let gh: FakeGitHub;
  let dir: string;
  const job = (name: string, inputs: Record<string, string>, extra: Record<string, string> = {}): Job => ({
    dir,
    node,
    inputs: { workflow: WORKFLOW, token: gh.token, ...inputs },
    env: githubEnv(dir, gh, name, extra),
  });

  beforeEach(async () => {
    gh = await startFakeGitHub();
    dir = await workspace();
    mkdirSync(join(dir, 'examples/github'), { recursive: true });
    copyFileSync(join(ROOT, WORKFLOW), join(dir, WORKFLOW));
    // What ran before: a live deployment in each environment, which this run replaces.
    gh.deployments.push(
      { id: 1, ref: 'old', environment: 'staging', payload: {}, statuses: [{ id: 2, state: 'success', description: 'v1' }] },
      { id: 3, ref: 'old', environment: 'production', payload: {}, statuses: [{ id: 4, state: 'success', description: 'v1' }] },
    );
  });
  afterEach(async () => gh.close());

  it('pauses at the gate with the job succeeding, then resumes with the reviewer GitHub reports', async () => {
    const staging = await mainAndPost(job('staging', { inputs: 'version: v2' }));
    expect(staging.main.code).toBe(0);
    expect(staging.main.outputs).toMatchObject({ result: 'paused', 'exit-code': '3', 'paused-gate': 'production/approval-production', 'state-path': '.rollgate/run.json' });
    expect(Object.keys(staging.main.outputs).sort()).toEqual(outputNames);
    expect(staging.main.annotations).toEqual([expect.objectContaining({ level: 'notice', title: 'rollgate: paused at production/approval-production' })]);

    // The audit chain head: printed, set as an output, and the trail's last entry.
    const trail = join(dir, staging.main.outputs['audit-path'] as string);
    const head = staging.main.outputs['audit-chain-head'] as string;
    expect(head).toBe(await lastHash(trail));
    expect(staging.main.stdout).toContain(`audit chain head: entry`);
    expect(staging.main.summary).toContain(`### rollgate: run \`${staging.main.outputs['run-id']}\` paused at \`production/approval-production\``);
    expect(staging.main.summary).toContain('# Run report:');
    expect(staging.main.summary).toContain(head);

    // One deployment for staging, explicit about merging and contexts, following the stage.
    const stagingDeployment = gh.deployments.find((d) => d.environment === 'staging' && d.id !== 1);
    expect(stagingDeployment).toMatchObject({
      ref: 'c0ffee0000000000000000000000000000000000',
      auto_merge: false,
      required_contexts: [],
      payload: { rollgate: { runId: staging.main.outputs['run-id'], workflow: 'shop' } },
    });
    expect(stagingDeployment?.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
    expect(stagingDeployment?.statuses[0]).toMatchObject({
      environment_url: 'https://staging.shop.example.com',
      log_url: 'https://github.com/acme/web/actions/runs/4242',
    });
    expect(staging.main.outputs['deployment-id']).toBe(String(stagingDeployment?.id));
    expect(gh.deployments.find((d) => d.id === 1)?.statuses.at(-1)?.state).toBe('inactive');
    // Nothing was deployed to production yet: the gate comes before any change.
    expect(gh.deployments.filter((d) => d.environment === 'production')).toHaveLength(1);

    // The post step uploads the journal and the trail as one artifact.
    expect(staging.post.code).toBe(0);
    const artifact = gh.artifacts.find((a) => a.name === 'rollgate-audit-staging-1');
    expect(artifact).toMatchObject({ finalized: true, hash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(artifact?.blob.subarray(0, 2).toString()).toBe('PK');
    expect(artifact?.blob.toString('latin1')).toContain('.rollgate/run.json');
    expect(artifact?.blob.toString('latin1')).toContain(`.rollgate/audit/${staging.main.outputs['run-id']}.jsonl`);

    // A reviewer approved the protected environment; someone else pushed and re-ran.
    gh.reviews.push({ state: 'approved', login: 'alice', comment: 'dashboards green', environment: 'production' });
    const production = await mainAndPost(job('production', { mode: 'resume', decision: 'approve' }, { GITHUB_ACTOR: 'pusher', GITHUB_TRIGGERING_ACTOR: 'rerunner' }));
    expect(production.main.code).toBe(0);
    expect(production.main.outputs).toMatchObject({ result: 'succeeded', 'exit-code': '0', 'paused-gate': '', 'run-id': staging.main.outputs['run-id'] });
    const journal = await readJson<RunJournal>(join(dir, '.rollgate/run.json'));
    expect(journal.stages.production?.approval).toMatchObject({ status: 'approved', by: 'alice', comment: 'dashboards green' });
    const decided = readFileSync(trail, 'utf8').split('\n').filter((l) => l.includes('"approval.decided"'));
    expect(decided).toHaveLength(1);
    expect(JSON.parse(decided[0] as string)).toMatchObject({ approval: { by: 'alice' } });
    expect(production.main.stdout).toContain('approved by alice (as GitHub reports the review of this run)');

    const prod = gh.deployments.find((d) => d.environment === 'production' && d.id !== 3);
    expect(prod?.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
    expect(prod?.statuses[0]?.environment_url).toBe('https://shop.example.com');
    expect(gh.deployments.find((d) => d.id === 3)?.statuses.at(-1)?.state).toBe('inactive');

    // The trail continued across the two jobs and still verifies, up to the new head.
    const finalHead = production.main.outputs['audit-chain-head'] as string;
    expect(finalHead).toBe(await lastHash(trail));
    if (existsSync(join(ROOT, 'dist/cli/main.js'))) {
      execFileSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'audit', 'verify', trail, '--head', finalHead], { cwd: dir });
    }
    expect(gh.artifacts.map((a) => a.name)).toEqual(['rollgate-audit-staging-1', 'rollgate-audit-production-1']);
  });

  it('rejects a gate no one approved in the cleanup job, recording who rejected it', async () => {
    const staging = await mainAndPost(job('staging', {}));
    expect(staging.main.outputs.result).toBe('paused');
    gh.reviews.push({ state: 'rejected', login: 'bob', comment: 'not today', environment: 'production' });
    const cleanup = await mainAndPost(job('cleanup', { mode: 'resume', decision: 'reject', 'approval-environment': 'production', comment: 'gate not approved' }));
    expect(cleanup.main.outputs).toMatchObject({ result: 'failed', 'exit-code': '1' });
    const journal = await readJson<RunJournal>(join(dir, '.rollgate/run.json'));
    expect(journal.status).toBe('failed');
    expect(journal.stages.production?.approval).toMatchObject({ status: 'rejected', by: 'bob', comment: 'not today' });
    // No production deployment was started for a gate that was never passed.
    expect(gh.deployments.filter((d) => d.environment === 'production')).toHaveLength(1);
    expect(cleanup.post.code).toBe(0);
  });

  it('rejects a timed-out gate (no review at all) as github-actions, with the reason', async () => {
    await mainAndPost(job('staging', {}));
    const cleanup = await mainAndPost(job('cleanup', { mode: 'resume', decision: 'reject', comment: 'job result: failure' }));
    expect(cleanup.main.outputs.result).toBe('failed');
    const journal = await readJson<RunJournal>(join(dir, '.rollgate/run.json'));
    expect(journal.stages.production?.approval).toMatchObject({ status: 'rejected', by: 'github-actions', comment: 'job result: failure' });
  });

  it('a gate inside a stage: the deployment stays in progress while paused, and the resume job completes the same one', async () => {
    writeFileSync(
      join(dir, 'mid.yml'),
      'version: 1\nname: mid\ninputs:\n  version: { default: v2 }\nenvironments:\n  production: { url: https://web.example.com }\n' +
        'sim:\n  services:\n    web: { version: v1 }\nstages:\n  - name: web\n    environment: production\n' +
        '    target: { type: sim, service: web }\n    router: { type: sim, service: web }\n' +
        '    strategy:\n      type: canary\n      steps:\n        - setWeight: 20\n        - pause: {}\n        - setWeight: 100\n',
    );
    const first = await mainAndPost(job('canary', { workflow: 'mid.yml' }));
    expect(first.main.outputs).toMatchObject({ result: 'paused', 'paused-gate': 'web/pause@2' });
    const ours = () => gh.deployments.filter((d) => d.environment === 'production' && d.id !== 3);
    expect(ours().map((d) => d.statuses.map((s) => [s.state, s.description]))).toEqual([
      [
        ['in_progress', 'web: v2 via canary'],
        ['in_progress', 'web paused at pause@2: waiting for approval'],
      ],
    ]);
    gh.reviews.push({ state: 'approved', login: 'carol', comment: '', environment: 'production' });
    const resumed = await mainAndPost(job('promote', { workflow: 'mid.yml', mode: 'resume', decision: 'approve' }));
    expect(resumed.main.outputs).toMatchObject({ result: 'succeeded', 'deployment-id': String(ours()[0]?.id) });
    expect(ours()).toHaveLength(1);
    expect(ours()[0]?.statuses.at(-1)?.state).toBe('success');
    expect(gh.deployments.find((d) => d.id === 3)?.statuses.at(-1)?.state).toBe('inactive');
  });
});
