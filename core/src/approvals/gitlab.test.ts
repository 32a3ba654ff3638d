import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVirtualClock } from '../clocks/virtual.js';
import { ProviderError } from '../errors.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import { rejection } from '../testing/contracts/kit.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { startGitlabServer, type GitlabServer } from '../testing/gitlab-server.js';
import * as gitlab from './gitlab.js';

/*
 * The approver against a local GitLab (real @gitbeaker/rest, real HTTP): who approved, who
 * rejected, a gate nobody decides in time, finding this pipeline's deployment, and every error a
 * user can meet. Time is a stepping clock: a wait of an hour costs nothing, and nothing sleeps.
 */

const REQUEST = { gate: 'approval-production', stage: 'production', environment: 'production', version: 'v2' };

/** A clock whose sleeps return at once, moving time by what they asked (not simulated: the approver uses it). */
function steppingClock(start = Date.UTC(2026, 5, 1, 9)) {
  let t = start;
  const sleeps: number[] = [];
  const clock: Clock = {
    now: () => t,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      t += ms;
    },
    setTimer: () => () => {},
  };
  return { clock, sleeps };
}

function recordingLog() {
  const warnings: string[] = [];
  const log: Logger = { info() {}, warn: (m: string) => void warnings.push(m), output() {} };
  return { log, warnings };
}

let server: GitlabServer;
beforeEach(async () => {
  server = await startGitlabServer({ tokens: { 'glpat-secret-value': 'rollgate-bot', 'job-secret-value': 'ci-job' } });
});
afterEach(() => server.close());

function approver(fields: Record<string, unknown>, secret: Record<string, string> = { GITLAB_TOKEN: 'glpat-secret-value' }) {
  const config = gitlab.configSchema.parse({ type: 'gitlab', url: server.url, project: 42, tokenEnv: 'GITLAB_TOKEN', ...fields });
  return gitlab.create(config, fakeDeps({ environment: 'production', secret: (n) => secret[n] }));
}

function context(options: { clock?: Clock; env?: Record<string, string>; signal?: AbortSignal; log?: Logger } = {}) {
  return fakeStepContext({ clock: options.clock ?? steppingClock().clock, ...options });
}

/** Runs `fn` once the deployment has been read `n` times (the next look sees it). */
function afterLooks(n: number, fn: () => void) {
  let looks = 0;
  server.onRequest((r) => {
    if (/\/deployments\/\d+$/.test(r.path) && (looks += 1) === n) fn();
  });
}

describe('gitlab approver: decisions', () => {
  it('waits until every required approval is in, and records all approvers with their comments', async () => {
    const id = server.addDeployment({ environment: 'production', requiredApprovals: 2 });
    let looks = 0;
    server.onRequest((r) => {
      if (!r.path.endsWith(`/deployments/${id}`)) return;
      looks += 1;
      if (looks === 2) server.decide(id, 'alice', 'approved', 'dashboards green');
      if (looks === 4) server.decide(id, 'bob', 'approved');
    });
    const { clock, sleeps } = steppingClock();
    const decision = await approver({ deployment: id, pollInterval: '20s' }).request(REQUEST, context({ clock }));
    expect(decision).toEqual({ status: 'approved', by: 'alice, bob', comment: 'alice: dashboards green', at: expect.any(String) });
    expect(Date.parse(decision.at as string)).toBeGreaterThan(Date.UTC(2026, 0, 1));
    // A decision made during a look is seen at the next one: looks 1-5, four waits between them.
    expect(sleeps).toEqual([20_000, 20_000, 20_000, 20_000]);
  });

  it('is rejected as soon as one approver rejects, and names who did', async () => {
    const id = server.addDeployment({ environment: 'production', requiredApprovals: 2 });
    server.decide(id, 'alice', 'approved');
    afterLooks(3, () => server.decide(id, 'carol', 'rejected', 'error budget spent'));
    const decision = await approver({ deployment: id }).request(REQUEST, context());
    expect(decision).toMatchObject({ status: 'rejected', by: 'carol', comment: 'error budget spent' });
  });

  it('rejects a gate nobody decides in time, saying what was still missing', async () => {
    const id = server.addDeployment({ environment: 'production', requiredApprovals: 2 });
    server.decide(id, 'alice', 'approved');
    const { clock, sleeps } = steppingClock(Date.UTC(2026, 5, 1, 9));
    const decision = await approver({ deployment: id, timeout: '1h', pollInterval: '15m' }).request(REQUEST, context({ clock }));
    expect(decision).toEqual({
      status: 'rejected',
      by: gitlab.TIMEOUT_APPROVER,
      comment: `no decision on GitLab deployment ${id} to production within 1h00m: 1 approval(s) still pending; approved so far by alice`,
      at: '2026-06-01T10:00:00.000Z',
    });
    expect(sleeps).toEqual([900_000, 900_000, 900_000, 900_000]);
  });

  it('pauses the run instead, with onTimeout: pause', async () => {
    const id = server.addDeployment({ environment: 'production', requiredApprovals: 1 });
    const decision = await approver({ deployment: id, timeout: '10m', onTimeout: 'pause' }).request(REQUEST, context());
    expect(decision).toEqual({ status: 'pending' });
  });

  it('waits in wall time when the run clock is simulated: people decide in real time', async () => {
    const id = server.addDeployment({ environment: 'production', requiredApprovals: 1 });
    const simulated = createVirtualClock(Date.UTC(2000, 0, 1));
    const decision = await approver({ deployment: id, timeout: '0s' }).request(REQUEST, context({ clock: simulated }));
    expect(Date.parse(decision.at as string)).toBeGreaterThan(Date.UTC(2020, 0, 1));
  });
});

describe('gitlab approver: finding the deployment', () => {
  const ci = { CI_SERVER_URL: '', CI_PROJECT_ID: '42', CI_PIPELINE_ID: '7', CI_JOB_ID: '' };

  it("reads this job's own deployment in this pipeline, from the job's CI_* variables and its job token", async () => {
    server.addDeployment({ environment: 'production', requiredApprovals: 1, pipelineId: 6, jobId: 50 });
    const other = server.addDeployment({ environment: 'production', requiredApprovals: 1, pipelineId: 7, jobId: 60 });
    const own = server.addDeployment({ environment: 'production', requiredApprovals: 1, pipelineId: 7, jobId: 61 });
    server.addDeployment({ environment: 'staging', pipelineId: 7, jobId: 62 });
    server.decide(own, 'alice', 'approved');
    server.decide(other, 'mallory', 'rejected');
    const config = gitlab.configSchema.parse({ type: 'gitlab' });
    const a = gitlab.create(config, fakeDeps({ environment: 'production', secret: (n) => (n === 'CI_JOB_TOKEN' ? 'job-secret-value' : undefined) }));
    const env = { ...ci, CI_SERVER_URL: server.url, CI_JOB_ID: '61' };
    expect(await a.request(REQUEST, context({ env }))).toMatchObject({ status: 'approved', by: 'alice' });
    expect(server.requests.map((r) => r.auth)).toEqual(['job', 'job']);
    expect(server.requests[0]?.query).toMatchObject({ environment: 'production', order_by: 'id', sort: 'desc' });
    // A second look (a resumed job) reads the deployment it found, without listing again.
    await a.request(REQUEST, context({ env }));
    expect(server.requests.map((r) => r.path.replace(/\d+$/, 'N'))).toEqual([
      '/api/v4/projects/42/deployments',
      '/api/v4/projects/42/deployments/N',
      '/api/v4/projects/42/deployments/N',
    ]);
  });

  it('reads the named job\'s deployment, or the newest of the pipeline, in the configured environment', async () => {
    const gate = server.addDeployment({ environment: 'prod-eu', requiredApprovals: 1, pipelineId: 7, jobName: 'approve-prod-eu' });
    const newest = server.addDeployment({ environment: 'prod-eu', requiredApprovals: 1, pipelineId: 7, jobName: 'smoke' });
    server.decide(gate, 'alice', 'approved');
    server.decide(newest, 'bob', 'rejected');
    const env = { ...ci, CI_SERVER_URL: `${server.url}/api/v4/` };
    const named = approver({ url: undefined, project: undefined, environment: 'prod-eu', job: 'approve-prod-eu' });
    expect(await named.request(REQUEST, context({ env }))).toMatchObject({ status: 'approved', by: 'alice' });
    const any = approver({ url: undefined, project: undefined, environment: 'prod-eu' });
    expect(await any.request(REQUEST, context({ env }))).toMatchObject({ status: 'rejected', by: 'bob' });
    expect(server.requests.every((r) => r.auth === 'private')).toBe(true);
  });

  it('says which pipeline and environment have no deployment', async () => {
    server.addDeployment({ environment: 'production', pipelineId: 6 });
    const err = await rejection(approver({ job: 'gate' }).request(REQUEST, context({ env: ci })));
    expect((err as Error).message).toBe(
      'gitlab approver for production: pipeline 7 has no deployment to environment production by job gate in project 42: ' +
        'a job with `environment: production` in this pipeline creates it (see the component README, "Gates")',
    );
  });
});

describe('gitlab approver: errors name the approver and the object, never the token', () => {
  const messageOf = async (promise: Promise<unknown>) => {
    const err = await rejection(promise);
    expect(err).toBeInstanceOf(ProviderError);
    const text = `${(err as Error).message} ${JSON.stringify(err)}`;
    expect(text).not.toContain('secret-value');
    return (err as Error).message;
  };

  it('a refused token (401)', async () => {
    const id = server.addDeployment({ environment: 'production', requiredApprovals: 1 });
    const message = await messageOf(approver({ deployment: id }, { GITLAB_TOKEN: 'glpat-wrong-secret-value' }).request(REQUEST, context()));
    expect(message).toBe(
      `gitlab approver for production: GitLab at ${server.url} refused the token in GITLAB_TOKEN (401 Unauthorized) reading deployment ${id} of project 42: ` +
        'check that GITLAB_TOKEN holds a valid, unexpired token (and tokenType matches it)',
    );
  });

  it('a token without access to the project (403)', async () => {
    const id = server.addDeployment({ environment: 'production', requiredApprovals: 1 });
    server.failNext(1, 403);
    expect(await messageOf(approver({ deployment: id }).request(REQUEST, context()))).toBe(
      `gitlab approver for production: GitLab at ${server.url} does not let the token in GITLAB_TOKEN read deployment ${id} of project 42 (403 Forbidden): ` +
        "a project or personal token needs the read_api scope and at least the Reporter role; a job token from another project needs this project's job token allowlist",
    );
  });

  it('a project that does not exist (404), by ID and by path', async () => {
    expect(await messageOf(approver({ project: 'acme/nope', deployment: 1 }).request(REQUEST, context()))).toContain(
      `GitLab at ${server.url} has no project acme/nope (404 404 Project Not Found)`,
    );
    expect(await messageOf(approver({ project: 9 }).request(REQUEST, context({ env: { CI_PIPELINE_ID: '7' } })))).toContain('has no project 9');
  });

  it('a deployment that does not exist (404)', async () => {
    expect(await messageOf(approver({ deployment: 999 }).request(REQUEST, context()))).toBe(
      `gitlab approver for production: GitLab at ${server.url} has no deployment 999 in project 42 (404 404 Not found): ` +
        "check `deployment`, or leave it out to find this pipeline's deployment",
    );
  });

  it('a deployment without approval rules: never a silent approval', async () => {
    const id = server.addDeployment({ environment: 'production' });
    expect(await messageOf(approver({ deployment: id }).request(REQUEST, context()))).toContain(
      `deployment ${id} to production in project 42 needs no approval (GitLab reports no approval rules)`,
    );
  });

  it('a missing token, URL, project or pipeline', async () => {
    expect(await messageOf(approver({ deployment: 1 }, {}).request(REQUEST, context()))).toBe(
      'gitlab approver for production: environment variable GITLAB_TOKEN is not set (tokenEnv); in a GitLab job CI_JOB_TOKEN is, else set a masked CI/CD variable',
    );
    expect(await messageOf(approver({ url: undefined }).request(REQUEST, context()))).toContain('no GitLab URL: set `url`, or run it in a GitLab job (CI_SERVER_URL is not set)');
    expect(await messageOf(approver({ project: undefined }).request(REQUEST, context()))).toContain('no GitLab project: set `project`');
    expect(await messageOf(approver({}).request(REQUEST, context()))).toContain('no deployment to wait on: set `deployment`, or run it in a GitLab pipeline (CI_PIPELINE_ID is not set)');
  });

  it('a deployment cancelled while it waited', async () => {
    const id = server.addDeployment({ environment: 'production', requiredApprovals: 1, status: 'canceled' });
    expect(await messageOf(approver({ deployment: id }).request(REQUEST, context()))).toContain(`deployment ${id} to production in project 42 is canceled and still waits for 1 approval(s)`);
  });
});

describe('gitlab approver: outages and cancellation', () => {
  it('looks again after a 5xx or an unreachable GitLab, until the approvers decide', async () => {
    const id = server.addDeployment({ environment: 'production', requiredApprovals: 1 });
    server.decide(id, 'alice', 'approved');
    server.failNext(2, 503);
    const { log, warnings } = recordingLog();
    expect(await approver({ deployment: id }).request(REQUEST, context({ log }))).toMatchObject({ status: 'approved', by: 'alice' });
    expect(warnings).toEqual([
      `gitlab approver for production: GitLab at ${server.url} answered 503 (503 Server Error) reading deployment ${id} of project 42; looking again in 15.0s`,
      `gitlab approver for production: GitLab at ${server.url} answered 503 (503 Server Error) reading deployment ${id} of project 42; looking again in 15.0s`,
    ]);
    const down = approver({ url: 'http://127.0.0.1:9', deployment: id, timeout: '30s' });
    const decision = await down.request(REQUEST, context());
    expect(decision).toMatchObject({ status: 'rejected', by: 'timeout' });
    expect(decision.comment).toMatch(/last error: gitlab approver for production: cannot reach GitLab at http:\/\/127\.0\.0\.1:9 reading deployment \d+ of project 42/);
  });

  it('gives up on a call GitLab does not answer, or keeps rate-limiting, and says so when time is up', async () => {
    const id = server.addDeployment({ environment: 'production', requiredApprovals: 1 });
    server.hangNext(1);
    const slow = await approver({ deployment: id, requestTimeout: '20ms', timeout: '0s' }).request(REQUEST, context());
    expect(slow.comment).toBe(
      `no decision on GitLab deployment ${id} to production within 0ms: last error: gitlab approver for production: GitLab at ${server.url} did not answer in time reading deployment ${id} of project 42`,
    );
    // The client itself retries 429 and 502 ten times (briefly) before it gives up.
    server.failNext(10, 429);
    const limited = await approver({ deployment: id, timeout: '0s' }).request(REQUEST, context());
    expect(limited.comment).toContain(`last error: gitlab approver for production: GitLab at ${server.url} kept answering 429/502 reading deployment ${id}`);
  });

  it('returns at once when cancelled while it waits between looks', async () => {
    const id = server.addDeployment({ environment: 'production', requiredApprovals: 1 });
    const controller = new AbortController();
    const clock: Clock = {
      now: () => 0,
      sleep: (_ms, signal) =>
        new Promise((_, reject) => {
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
          queueMicrotask(() => controller.abort(new Error('cancelled by the test')));
        }),
      setTimer: () => () => {},
    };
    const err = await rejection(approver({ deployment: id }).request(REQUEST, context({ clock, signal: controller.signal })));
    expect((err as Error).message).toBe('cancelled by the test');
  });

  it('returns at once when cancelled while GitLab does not answer', async () => {
    const id = server.addDeployment({ environment: 'production', requiredApprovals: 1 });
    const controller = new AbortController();
    server.hangNext(1);
    server.onRequest((r) => r.status === 0 && controller.abort(new Error('cancelled mid-call')));
    const err = await rejection(approver({ deployment: id }).request(REQUEST, context({ signal: controller.signal })));
    expect((err as Error).message).toBe('cancelled mid-call');
  });
});
