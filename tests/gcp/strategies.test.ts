import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkflowFile } from '../../core/src/definition/load.js';
import { resumeRun, runWorkflow } from '../../core/src/engine/executor.js';
import { FileRunStore } from '../../core/src/engine/file-run-store.js';
import { MemoryRunStore } from '../../core/src/engine/memory-run-store.js';
import type { RunEvent } from '../../core/src/model/events.js';
import { type GcpFixture, gcpFixture, PROJECT, REGION, servingView } from '../../core/src/testing/gcp/fixture.js';

/*
 * Cloud Run end to end through the engine, against the Google API double on a virtual clock
 * (revisions become Ready in 5 s of it; an image tagged `bad` fails its health check with Cloud
 * Run's own message). The credentials are a service account key generated for the test, its JWT
 * verified by the double. What a user would check after a run is checked on the double: the
 * service's traffic by revision.
 */
let gcp: GcpFixture;
beforeEach(async () => {
  gcp = await gcpFixture();
  gcp.server.run.seed(PROJECT, REGION, 'web', 'europe-docker.pkg.dev/acme/web/web:1.0.0');
});
afterEach(() => gcp.cleanup());

const target = { type: 'cloud-run', service: 'web', interval: '1s' };
const router = { type: 'cloud-run' };
const before = [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'web-00001-abc', percent: 100 }];
const promoted = [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'web-2-0-0', percent: 100 }];

async function run(stage: Record<string, unknown>, version = '2.0.0', store: FileRunStore | MemoryRunStore = new FileRunStore(join(gcp.dir, 'run.json')), watch?: (e: RunEvent) => void) {
  const file = join(gcp.dir, 'rollgate.yml');
  writeFileSync(
    file,
    stringify({
      version: 1,
      name: 'web',
      inputs: { version: { default: version } },
      gcp: gcp.settings,
      environments: { production: {} },
      stages: [{ name: 'web', environment: 'production', target, verify: { interval: '5s', timeout: '30s' }, ...stage }],
    }),
  );
  const events: RunEvent[] = [];
  const loaded = await loadWorkflowFile(file);
  const outcome = await runWorkflow({
    loaded,
    store,
    context: { actor: 'alice', ci: 'local' },
    clock: gcp.clock,
    env: { PATH: process.env.PATH ?? '', ...gcp.env },
    subscribers: [(e) => events.push(e), ...(watch ? [watch] : [])],
  });
  return { outcome, events, store, loaded };
}

const changed = (events: RunEvent[]) =>
  events.flatMap((e) => (e.kind === 'infra.changed' ? [`${e.change.field}: ${JSON.stringify(e.change.before)} -> ${JSON.stringify(e.change.after)}`] : []));
const logged = (events: RunEvent[]) => events.flatMap((e) => (e.kind === 'step.output' ? [e.line] : []));
const failures = (events: RunEvent[]) => JSON.stringify(events.filter((e) => e.kind === 'step.failed' || e.kind.startsWith('rollback')), null, 1);

/** No access token, nor any line of the private key, in what a run emits. */
function expectNoSecrets(events: RunEvent[]): void {
  const text = JSON.stringify(events);
  for (const token of gcp.server.tokens.all()) expect(text).not.toContain(token);
  for (const line of gcp.privateKey.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) expect(text).not.toContain(line);
  expect(text).not.toContain('PRIVATE KEY');
}

describe('cloud-run, end to end on the Google API double', () => {
  it('direct: a revision with no traffic, Ready, then all the traffic to it', async () => {
    const { outcome, events } = await run({});
    expect(outcome.exitCode, failures(events)).toBe(0);
    expect(servingView(gcp.server)).toEqual(promoted);
    expect(changed(events)).toEqual(['revision: "web-00001-abc" -> "web-2-0-0"', 'traffic: "web-00001-abc 100%" -> "web-2-0-0 (latest) 100%"']);
    // The service followed LATEST before: it does again, so a later `gcloud run deploy` gets the traffic.
    expect(gcp.server.run.get(PROJECT, REGION, 'web').traffic).toEqual([{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 }]);
    expectNoSecrets(events);
  });

  it('canary 10/50/100 through the cloud-run router: the candidate revision takes each share, verified on what Cloud Run serves, then is promoted', async () => {
    const strategy = { type: 'canary', steps: [{ setWeight: 10 }, { pause: { duration: '1m' } }, { setWeight: 50 }, { pause: { duration: '1m' } }, { setWeight: 100 }] };
    const { outcome, events } = await run({ strategy, router });
    expect(outcome.exitCode, failures(events)).toBe(0);
    expect(servingView(gcp.server)).toEqual(promoted);
    expect(changed(events)).toEqual([
      'candidate: null -> "web-2-0-0"',
      'traffic: "web-00001-abc 100%, web-2-0-0 0% (candidate)" -> "web-00001-abc 90%, web-2-0-0 10% (candidate)"',
      'traffic: "web-00001-abc 90%, web-2-0-0 10% (candidate)" -> "web-00001-abc 50%, web-2-0-0 50% (candidate)"',
      'traffic: "web-00001-abc 50%, web-2-0-0 50% (candidate)" -> "web-2-0-0 100% (candidate)"',
      'traffic: "web-2-0-0 100% (candidate)" -> "web-2-0-0 (latest) 100%"',
    ]);
    expect(gcp.server.run.get(PROJECT, REGION, 'web').traffic).toEqual([{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 }]);
    expect(events.flatMap((e) => (e.kind === 'weight.changed' ? [e.to] : []))).toEqual([10, 50, 100]);
  });

  it('canary without a router: the candidate share is the traffic percent itself (Cloud Run scales instances)', async () => {
    const { outcome, events } = await run({ strategy: { type: 'canary', steps: [{ setWeight: 25 }] } });
    expect(outcome.exitCode, failures(events)).toBe(0);
    expect(changed(events)).toContain('traffic: "web-00001-abc 100%, web-2-0-0 0% (candidate)" -> "web-00001-abc 75%, web-2-0-0 25% (candidate)"');
    expect(servingView(gcp.server)).toEqual(promoted);
  });

  it('blue-green: green is a tagged revision with no traffic, switched all at once, promoted', async () => {
    const { outcome, events } = await run({ strategy: { type: 'blue-green', scaleDownDelay: '30s' }, router });
    expect(outcome.exitCode, failures(events)).toBe(0);
    expect(servingView(gcp.server)).toEqual(promoted);
    expect(changed(events)).toEqual([
      'candidate: null -> "web-2-0-0"',
      'traffic: "web-00001-abc 100%, web-2-0-0 0% (candidate)" -> "web-2-0-0 100% (candidate)"',
      'traffic: "web-2-0-0 100% (candidate)" -> "web-2-0-0 (latest) 100%"',
    ]);
  });

  it('a version that never becomes Ready: the step fails with the revision\'s condition, and the traffic stays as it was', async () => {
    const { outcome, events } = await run({ strategy: { type: 'canary', steps: [{ setWeight: 10 }] }, router }, 'bad');
    expect(outcome.exitCode).toBe(1);
    expect(servingView(gcp.server)).toEqual(before);
    expect(failures(events)).toContain(
      'cloud-run target: revision web-bad of the Cloud Run service acme-prod/europe-west1/web failed to become ready (HEALTH_CHECK_CONTAINER_ERROR): The user-provided container failed to start and listen on the port defined provided by the PORT=8080 environment variable within the allocated timeout.',
    );
    const direct = await run({}, 'bad');
    expect(direct.outcome.exitCode).toBe(1);
    expect(servingView(gcp.server)).toEqual(before);
  });

  it('API throttled (~30% of calls 429 RESOURCE_EXHAUSTED with Retry-After): the rollout succeeds, each retry logged', async () => {
    gcp.server.throttle(0.3);
    const { outcome, events } = await run({ strategy: { type: 'canary', steps: [{ setWeight: 10 }, { setWeight: 50 }] }, router });
    expect(outcome.exitCode, failures(events)).toBe(0);
    expect(servingView(gcp.server)).toEqual(promoted);
    const throttled = gcp.server.calls.filter((c) => c.status === 429).length;
    expect(throttled).toBeGreaterThan(5);
    const retries = logged(events).filter((l) => /^cloud-run( router)?: .*: throttled, retrying in 1\.0s \(attempt 2 of 6\)$/.test(l));
    expect(retries.length).toBeGreaterThan(0);
  });

  it('a token refused mid-run (401) is replaced once from the same key, and the rollout goes on', async () => {
    const stage = { strategy: { type: 'canary', steps: [{ setWeight: 50 }, { pause: { duration: '1m' } }] }, router };
    const { outcome, events } = await run(stage, '2.0.0', undefined, (e) => {
      if (e.kind === 'weight.changed') gcp.server.expireTokens(false);
    });
    expect(outcome.exitCode, failures(events)).toBe(0);
    expect(servingView(gcp.server)).toEqual(promoted);
    expect(gcp.server.calls.filter((c) => c.status === 401).length).toBeGreaterThan(0);
    expect(gcp.server.exchanges.filter((x) => x === '/token').length).toBeGreaterThanOrEqual(2);
    expectNoSecrets(events);
  });

  it('credentials expired mid-run and the refresh refused: the run fails naming the call, and no token or key is in any event', async () => {
    const stage = { strategy: { type: 'canary', abortScaleDownDelay: '0s', steps: [{ setWeight: 50 }, { pause: { duration: '1m' } }] }, router };
    const { outcome, events } = await run(stage, '2.0.0', undefined, (e) => {
      // Once the candidate takes traffic, the key is deleted: the token is refused and no new one is granted.
      if (e.kind === 'weight.changed') gcp.server.expireTokens(true);
    });
    expect(outcome.exitCode).toBe(4);
    expect(outcome.status).toBe('manual-intervention-required');
    const journal = JSON.stringify(outcome.journal);
    expect(journal).toMatch(
      /cloud-run( router)?: cannot [^"]*: the credentials in GOOGLE_APPLICATION_CREDENTIALS \([^)]*\): 127\.0\.0\.1:\d+ refused the exchange \(HTTP 400, invalid_grant: Invalid grant: account not found\); the key of rollgate@acme-prod\.iam\.gserviceaccount\.com may have been deleted or disabled/,
    );
    expectNoSecrets(events);
    expect(journal).not.toContain('PRIVATE KEY');
  });

  it('a crash mid-canary: resume in a new process rolls back from the journal, the traffic as before', async () => {
    const store = new MemoryRunStore();
    let atCrash: string | undefined;
    const strategy = { type: 'canary', steps: [{ setWeight: 10 }, { setWeight: 50 }] };
    const first = await run({ strategy, router }, '2.0.0', store, (e) => {
      if (e.kind === 'weight.changed' && e.to === 10) void store.load().then((j) => (atCrash ??= JSON.stringify(j)));
    });
    expect(first.outcome.exitCode).toBe(0);
    // The service as the crash left it: 10 % on the candidate.
    const s = gcp.server.run.get(PROJECT, REGION, 'web');
    gcp.server.run.update(s, {
      traffic: [
        { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'web-00001-abc', percent: 90 },
        { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'web-2-0-0', percent: 10, tag: 'candidate' },
      ],
    });
    gcp.clock.advance(1000);
    const crashed = new MemoryRunStore();
    await crashed.save(JSON.parse(atCrash as string));
    const events: RunEvent[] = [];
    const resumed = await resumeRun({
      loaded: first.loaded,
      store: crashed,
      context: { actor: 'ci', ci: 'local' },
      clock: gcp.clock,
      env: { PATH: process.env.PATH ?? '', ...gcp.env },
      subscribers: [(e) => events.push(e)],
    });
    expect(resumed.status, failures(events)).toBe('rolled-back');
    expect(servingView(gcp.server)).toEqual(before);
  });

  it('a canary stopped at an approval goes on in a new process: the router finds the candidate by its tag, and promotes it', async () => {
    const strategy = { type: 'canary', steps: [{ setWeight: 20 }, { approval: {} }, { setWeight: 60 }] };
    const first = await run({ strategy, router });
    expect(first.outcome.exitCode, failures(first.events)).toBe(3);
    expect(servingView(gcp.server)).toEqual([
      { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'web-00001-abc', percent: 80 },
      { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'web-2-0-0', percent: 20, tag: 'candidate' },
    ]);
    const events: RunEvent[] = [];
    const resumed = await resumeRun({
      loaded: first.loaded,
      store: first.store,
      context: { actor: 'bob', ci: 'local' },
      clock: gcp.clock,
      env: { PATH: process.env.PATH ?? '', ...gcp.env },
      decision: { approve: true, by: 'bob' },
      subscribers: [(e) => events.push(e)],
    });
    expect(resumed.exitCode, failures(events)).toBe(0);
    expect(servingView(gcp.server)).toEqual(promoted);
    expect(changed(events)).toContain('traffic: "web-00001-abc 80%, web-2-0-0 20% (candidate)" -> "web-00001-abc 40%, web-2-0-0 60% (candidate)"');
  });

  it('a 409 ABORTED (a concurrent change the API refused) is read again and retried, logged', async () => {
    gcp.server.fail(/\/services\/web$/, 409, { method: 'PATCH', times: 2 });
    const { outcome, events } = await run({});
    expect(outcome.exitCode, failures(events)).toBe(0);
    expect(logged(events)).toContain(
      'cloud-run: the Cloud Run service acme-prod/europe-west1/web changed while rollgate wrote it (409 ABORTED, a concurrent change): reading it again (attempt 2 of 5)',
    );
  });

  it("someone else writing the service between rollgate's read and write (the etag protects nothing in v2) stops the step, naming both generations", async () => {
    // A `gcloud run services update` lands after rollgate read the service, before its PATCH.
    gcp.server.before(/\/services\/web$/, () => gcp.server.run.update(gcp.server.run.get(PROJECT, REGION, 'web'), { template: { revision: 'web-env', containers: [{ name: 'app', image: 'europe-docker.pkg.dev/acme/web/web:1.0.0', env: [{ name: 'A', value: '1' }] }] } }), { method: 'PATCH' });
    const { outcome, events } = await run({});
    expect(outcome.exitCode).not.toBe(0);
    expect(failures(events)).toContain(
      "cloud-run: someone else wrote the Cloud Run service acme-prod/europe-west1/web while rollgate did (deploy 2.0.0 as revision web-2-0-0): it was at generation 1 when rollgate read it and is at 3 after rollgate's write, not 2; Cloud Run keeps the last write whole, so one of the two changes may be lost: check it (gcloud run services describe web --region europe-west1 --project acme-prod) and run again",
    );
  });
});
