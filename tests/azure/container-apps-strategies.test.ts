import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkflowFile } from '../../core/src/definition/load.js';
import { resumeRun, runWorkflow } from '../../core/src/engine/executor.js';
import { MemoryRunStore } from '../../core/src/engine/memory-run-store.js';
import type { RunJournal } from '../../core/src/model/journal.js';
import type { RunEvent } from '../../core/src/model/events.js';
import { type ContainerAppsFixture, containerAppsFixture } from '../../core/src/testing/azure/container-apps/fixture.js';

/*
 * Azure Container Apps end to end through the engine, against the ARM double on a virtual clock
 * (a revision provisions in 10 s of it; an image tagged `bad` cannot be pulled, and its revision
 * fails with Container Apps' own operation error). Credentials are a service principal of the
 * double (AZURE_CLIENT_SECRET), exchanged at its Entra ID endpoint. App `web` runs
 * acme.azurecr.io/web:1.0.0 in revision web--v1-0-0 in Multiple revision mode. What a user would
 * check after a run is checked on the double: the traffic by revision, and the active revisions.
 */
let azure: ContainerAppsFixture;
beforeEach(async () => {
  azure = await containerAppsFixture();
  azure.apps.seed('web', { image: 'acme.azurecr.io/web:1.0.0', suffix: 'v1-0-0' });
});
afterEach(() => azure.cleanup());

const target = { type: 'container-apps', app: 'web', interval: '2s' };
const router = { type: 'container-apps' };
const before = { mode: 'Multiple', traffic: [{ revisionName: 'web--v1-0-0', weight: 100 }], active: [{ name: 'web--v1-0-0', images: ['acme.azurecr.io/web:1.0.0'] }] };
const promoted = { mode: 'Multiple', traffic: [{ revisionName: 'web--v2-0-0', weight: 100 }], active: [{ name: 'web--v2-0-0', images: ['acme.azurecr.io/web:2.0.0'] }] };

async function run(stage: Record<string, unknown>, version = '2.0.0', options: { store?: MemoryRunStore; watch?: (e: RunEvent) => void } = {}) {
  const file = join(azure.dir, 'rollgate.yml');
  writeFileSync(
    file,
    stringify({
      version: 1,
      name: 'web',
      inputs: { version: { default: version } },
      azure: azure.settings,
      environments: { production: {} },
      stages: [{ name: 'web', environment: 'production', target, verify: { interval: '5s', timeout: '30s' }, ...stage }],
    }),
  );
  const events: RunEvent[] = [];
  const loaded = await loadWorkflowFile(file);
  const store = options.store ?? new MemoryRunStore();
  const outcome = await runWorkflow({
    loaded,
    store,
    context: { actor: 'alice', ci: 'local' },
    clock: azure.clock,
    env: { PATH: process.env.PATH ?? '', ...azure.env },
    subscribers: [(e) => events.push(e), ...(options.watch ? [options.watch] : [])],
  });
  return { outcome, events, store, loaded };
}

const view = () => azure.apps.view('web');
const changed = (events: RunEvent[]) => events.flatMap((e) => (e.kind === 'infra.changed' ? [`${e.change.field}: ${JSON.stringify(e.change.before)} -> ${JSON.stringify(e.change.after)}`] : []));
const logged = (events: RunEvent[]) => events.flatMap((e) => (e.kind === 'step.output' ? [e.line] : []));
const failures = (events: RunEvent[]) => JSON.stringify(events.filter((e) => e.kind === 'step.failed' || e.kind.startsWith('rollback')), null, 1);
const stepError = (events: RunEvent[]) => events.flatMap((e) => (e.kind === 'step.failed' ? [e.error] : [])).join('\n');

/** No access token, nor the client secret, in what a run emits or keeps. */
function expectNoSecrets(...texts: unknown[]): void {
  const text = JSON.stringify(texts);
  expect(azure.server.identity.issued.length).toBeGreaterThan(0);
  for (const token of azure.server.identity.issued) expect(text).not.toContain(token);
  expect(text).not.toContain(azure.server.identity.clientSecret);
}

describe('container-apps, end to end on the ARM double', () => {
  it('direct: a revision with no traffic, provisioned and healthy, then all the traffic to it; the old revision stays active for a quick way back', async () => {
    const { outcome, events, store } = await run({});
    expect(outcome.exitCode, failures(events)).toBe(0);
    expect(view()).toEqual({ ...promoted, active: [...before.active, ...promoted.active] });
    expect(changed(events)).toEqual(['revision web--v2-0-0: null -> "acme.azurecr.io/web:2.0.0"', 'traffic: "web--v1-0-0 100%" -> "web--v2-0-0 100%"']);
    expectNoSecrets(events, await store.load());
  });

  it('canary without a router: the shares are the candidate revision\'s traffic weights, then it is promoted and the old revision retired', async () => {
    const { outcome, events } = await run({ strategy: { type: 'canary', steps: [{ setWeight: 25 }, { pause: { duration: '1m' } }, { setWeight: 50 }] } });
    expect(outcome.exitCode, failures(events)).toBe(0);
    expect(view()).toEqual(promoted);
    expect(changed(events)).toEqual([
      'revision web--v2-0-0: null -> "acme.azurecr.io/web:2.0.0"',
      'traffic: "web--v1-0-0 100%" -> "web--v1-0-0 100%, web--v2-0-0 0% (candidate)"',
      'traffic: "web--v1-0-0 100%, web--v2-0-0 0% (candidate)" -> "web--v1-0-0 75%, web--v2-0-0 25% (candidate)"',
      'traffic: "web--v1-0-0 75%, web--v2-0-0 25% (candidate)" -> "web--v1-0-0 50%, web--v2-0-0 50% (candidate)"',
      'traffic: "web--v1-0-0 50%, web--v2-0-0 50% (candidate)" -> "web--v2-0-0 100%"',
      'revision web--v1-0-0: "active" -> "inactive"',
    ]);
  });

  it('canary 10/50 through the container-apps router, the weights read back from the app', async () => {
    const strategy = { type: 'canary', steps: [{ setWeight: 10 }, { pause: { duration: '1m' } }, { setWeight: 50 }, { pause: { duration: '1m' } }] };
    const { outcome, events } = await run({ strategy, router });
    expect(outcome.exitCode, failures(events)).toBe(0);
    expect(view()).toEqual(promoted);
    expect(events.flatMap((e) => (e.kind === 'weight.changed' ? [e.to] : []))).toEqual([10, 50]);
  });

  it('blue-green: green labelled with no traffic (its own URL), switched at once by the router, blue retired after the delay', async () => {
    const seen: unknown[] = [];
    const { outcome, events } = await run({ router, strategy: { type: 'blue-green', scaleDownDelay: '30s' } }, '2.0.0', {
      watch: (e) => {
        if (e.kind === 'step.succeeded' && e.step === 'verify-green') seen.push(view());
      },
    });
    expect(outcome.exitCode, failures(events)).toBe(0);
    expect(seen).toEqual([
      {
        mode: 'Multiple',
        traffic: [{ revisionName: 'web--v1-0-0', weight: 100 }, { revisionName: 'web--v2-0-0', weight: 0, label: 'candidate' }],
        active: [...before.active, ...promoted.active],
      },
    ]);
    expect(view()).toEqual(promoted);
    expect(changed(events).slice(-3)).toEqual([
      'traffic: "web--v1-0-0 100%, web--v2-0-0 0% (candidate)" -> "web--v1-0-0 0%, web--v2-0-0 100% (candidate)"',
      'traffic: "web--v1-0-0 0%, web--v2-0-0 100% (candidate)" -> "web--v2-0-0 100%"',
      'revision web--v1-0-0: "active" -> "inactive"',
    ]);
  });

  it('a bad version: its revision fails to provision with Container Apps\' error, the run rolls back, traffic never left the stable revision', async () => {
    const { outcome, events } = await run({ router, strategy: { type: 'canary', abortScaleDownDelay: '0s', steps: [{ setWeight: 20 }] } }, 'bad');
    expect(outcome.exitCode).toBe(1);
    expect(stepError(events)).toContain(
      "container-apps: cannot start revision web--bad (acme.azurecr.io/web:bad) of container app rg-web/web: the operation ended Failed: ContainerAppOperationError: Failed to provision revision for container app 'web'. Error details: The image 'acme.azurecr.io/web:bad' cannot be pulled: manifest unknown.",
    );
    expect(view()).toEqual(before);
  });

  it('a direct deploy of a bad version is undone: the failed revision deactivated, the traffic as it was', async () => {
    const { outcome, events } = await run({}, 'bad');
    expect(outcome.exitCode).toBe(1);
    expect(outcome.status).toBe('rolled-back');
    expect(view()).toEqual(before);
    expect(changed(events)).toEqual(['revision web--bad: null -> "acme.azurecr.io/web:bad"', 'revision web--bad: "active" -> "inactive"']);
  });

  it('capacity short: a revision that cannot get its replicas runs Degraded; the run says replicas failed, where to look and the possible causes, and rolls back', async () => {
    await azure.cleanup();
    azure = await containerAppsFixture({ capacity: 1 });
    azure.apps.seed('web', { image: 'acme.azurecr.io/web:1.0.0', suffix: 'v1-0-0' });
    const { outcome, events } = await run({ router, strategy: { type: 'blue-green', scaleDownDelay: '0s' } });
    expect(outcome.exitCode).toBe(1);
    expect(stepError(events)).toContain(
      "container-apps: revision web--v2-0-0 of container app rg-web/web runs degraded (provisioning Provisioned, running Degraded, health Unhealthy, 0 replica(s)): one or more replicas failed; see the system logs (az containerapp logs show --name web --resource-group rg-web --revision web--v2-0-0 --type system): a version whose container crashes or fails its probes, or an environment short of capacity (its workload profile's maximum nodes, the subscription's cores quota)",
    );
    expect(view()).toEqual(before);
  });

  it('ARM throttled (30 % of calls answered 429 with Retry-After): every call waits as asked, and the canary completes', async () => {
    azure.server.throttle(0.3);
    const { outcome, events } = await run({ router, strategy: { type: 'canary', steps: [{ setWeight: 20 }, { pause: { duration: '1m' } }] } });
    expect(outcome.exitCode, failures(events)).toBe(0);
    expect(view()).toEqual(promoted);
    expect(azure.server.throttled).toBeGreaterThan(3);
    expect(logged(events).filter((l) => / throttled, retrying in 1\.0s \(attempt 2 of 6\)$/.test(l)).length).toBeGreaterThan(0);
  });

  it('tokens that lapse mid-run are replaced: one revoked at the first weight (401, refreshed once) and ones that expire during 24 minutes of pauses', async () => {
    await azure.cleanup();
    azure = await containerAppsFixture({ tokenLifetimeS: 900 });
    azure.apps.seed('web', { image: 'acme.azurecr.io/web:1.0.0', suffix: 'v1-0-0' });
    const strategy = { type: 'canary', steps: [{ setWeight: 10 }, { pause: { duration: '12m' } }, { setWeight: 50 }, { pause: { duration: '12m' } }] };
    const { outcome, events, store } = await run({ router, strategy }, '2.0.0', { watch: (e) => e.kind === 'weight.changed' && e.to === 10 && azure.server.expireTokens() });
    expect(outcome.exitCode, failures(events)).toBe(0);
    expect(view()).toEqual(promoted);
    // Tokens live 15 minutes and are replaced 5 minutes before: one at the start, one after the revocation, two more.
    expect(azure.server.identity.issued.length).toBeGreaterThanOrEqual(4);
    expectNoSecrets(events, await store.load());
  });

  it('credentials that expire mid-run, and cannot be renewed: the run stops naming the call, the rollback cannot finish either, and no secret is in any event', async () => {
    const stage = { router, strategy: { type: 'canary', abortScaleDownDelay: '0s', steps: [{ setWeight: 20 }, { pause: { duration: '1m' } }] } };
    const { outcome, events, store } = await run(stage, '2.0.0', {
      watch: (e) => {
        if (e.kind === 'weight.changed') {
          azure.server.expireTokens();
          azure.server.refuseTokens();
        }
      },
    });
    expect(outcome.exitCode).toBe(4);
    expect(outcome.status).toBe('manual-intervention-required');
    const said = JSON.stringify(events);
    expect(said).toContain('azure: credentials from environment (AZURE_CLIENT_SECRET) were refused (HTTP 401: invalid_client: AADSTS7000222: The provided client secret keys for app are expired.');
    expectNoSecrets(events, await store.load());
  });

  it('a crash mid-canary (traffic at 20 %): resume in a new process rolls back from the journal, the traffic as before', async () => {
    const store = new MemoryRunStore();
    let atCrash: RunJournal | undefined;
    // The process "dies" at the first weight: its journal is what it saved then, and nothing it
    // tries later reaches Azure (its credentials are refused).
    await run({ router, strategy: { type: 'canary', steps: [{ setWeight: 20 }, { setWeight: 60 }] } }, '2.0.0', {
      store,
      watch: (e) => {
        if (e.kind !== 'weight.changed' || atCrash) return;
        azure.server.expireTokens();
        azure.server.refuseTokens();
        void store.load().then((j) => (atCrash ??= j as RunJournal));
      },
    });
    expect(atCrash?.status).toBe('running');
    expect((view() as { traffic: unknown }).traffic).toEqual([{ revisionName: 'web--v1-0-0', weight: 80 }, { revisionName: 'web--v2-0-0', weight: 20, label: 'candidate' }]);
    azure.server.acceptTokens();
    const crashed = new MemoryRunStore();
    await crashed.save(atCrash as RunJournal);
    const events: RunEvent[] = [];
    const loaded = await loadWorkflowFile(join(azure.dir, 'rollgate.yml'));
    const resumed = await resumeRun({ loaded, store: crashed, context: { actor: 'bob', ci: 'local' }, clock: azure.clock, env: { PATH: process.env.PATH ?? '', ...azure.env }, subscribers: [(e: RunEvent) => events.push(e)] });
    expect(resumed.status, failures(events)).toBe('rolled-back');
    expect(view()).toEqual(before);
  });

  describe('an app in Single revision mode', () => {
    beforeEach(async () => {
      await azure.cleanup();
      azure = await containerAppsFixture();
      azure.apps.seed('web', { image: 'acme.azurecr.io/web:1.0.0', suffix: 'v1-0-0', mode: 'Single' });
    });
    const single = (name: string, image: string) => ({ mode: 'Single', traffic: [{ latestRevision: true, weight: 100 }], active: [{ name, images: [image] }] });

    it('direct: the new revision, which Container Apps serves once it is ready, the old one deactivated by Container Apps', async () => {
      const { outcome, events } = await run({});
      expect(outcome.exitCode, failures(events)).toBe(0);
      expect(view()).toEqual(single('web--v2-0-0', 'acme.azurecr.io/web:2.0.0'));
      expect(changed(events)).toEqual(['revision web--v2-0-0: null -> "acme.azurecr.io/web:2.0.0"', 'traffic: "web--v1-0-0 100%" -> "web--v2-0-0 100%"']);
    });

    it('a bad version: Container Apps keeps the old revision serving, and rollgate deactivates the failed one', async () => {
      const { outcome, events } = await run({}, 'bad');
      expect(outcome.exitCode).toBe(1);
      expect(view()).toEqual(single('web--v1-0-0', 'acme.azurecr.io/web:1.0.0'));
      expect(changed(events)).toEqual(['revision web--bad: null -> "acme.azurecr.io/web:bad"', 'revision web--bad: "active" -> "inactive"']);
    });

    it('a canary is refused before anything changes, saying how to switch the mode', async () => {
      const { outcome, events } = await run({ strategy: { type: 'canary', steps: [{ setWeight: 20 }] } });
      expect(outcome.exitCode).toBe(1);
      expect(stepError(events)).toContain(
        'container-apps: container app rg-web/web is in Single revision mode, where a new revision takes all traffic as soon as it is ready: a canary or blue-green needs Multiple revision mode to start a version beside the running one and move traffic itself (a direct deploy works in either); switch it once (az containerapp revision set-mode --name web --resource-group rg-web --mode multiple) and run again',
      );
      expect(changed(events)).toEqual([]);
    });
  });
});
