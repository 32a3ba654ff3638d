import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVirtualClock } from '../../core/src/clocks/virtual.js';
import { loadWorkflowFile } from '../../core/src/definition/load.js';
import { resumeRun, runWorkflow } from '../../core/src/engine/executor.js';
import { MemoryRunStore } from '../../core/src/engine/memory-run-store.js';
import type { RunEvent } from '../../core/src/model/events.js';
import type { RunJournal } from '../../core/src/model/journal.js';
import { type AppServiceFixture, appServiceFixture } from '../../core/src/testing/azure/app-service/fixture.js';

/*
 * The app-service target end to end through the engine, against the App Service double on a
 * virtual clock: the real ARM client, tokens from the double's Entra ID endpoint (a service
 * principal in the run's environment), slots that warm up in 20 s of the clock, an image tagged
 * `bad` that never answers, swaps that end at their third poll. What a user would check after a
 * run is checked on the double: which image each slot runs, and production's routing rules.
 */
let azure: AppServiceFixture;
let dir: string;
beforeEach(async () => {
  azure = await appServiceFixture('registry.local/web:1.0.0', 'registry.local/web:0.9.0');
  dir = mkdtempSync(join(tmpdir(), 'rollgate-appservice-'));
});
afterEach(async () => {
  await azure.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const target = { type: 'app-service', app: 'web', healthPath: '/health', interval: '5s', timeout: '2m' };

async function load(stage: Record<string, unknown>, version: string) {
  const file = join(dir, 'rollgate.yml');
  writeFileSync(
    file,
    stringify({
      version: 1,
      name: 'web',
      inputs: { version: { default: version } },
      azure: azure.settings,
      environments: { production: {} },
      stages: [{ name: 'web', environment: 'production', target, verify: { interval: '5s', timeout: '1m' }, ...stage }],
    }),
  );
  return loadWorkflowFile(file);
}

async function run(stage: Record<string, unknown> = {}, version = '2.0.0', options: { signal?: AbortSignal; store?: MemoryRunStore; events?: RunEvent[] } = {}) {
  const events = options.events ?? [];
  const store = options.store ?? new MemoryRunStore();
  const loaded = await load(stage, version);
  const outcome = await runWorkflow({
    loaded,
    store,
    context: { actor: 'alice', ci: 'local' },
    clock: azure.clock,
    env: { PATH: process.env.PATH ?? '', ...azure.env },
    subscribers: [(e) => events.push(e)],
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { outcome, events, store, loaded };
}

const changed = (events: RunEvent[]) =>
  events.flatMap((e) => (e.kind === 'infra.changed' ? [`${e.change.object} ${e.change.field}: ${JSON.stringify(e.change.before)} -> ${JSON.stringify(e.change.after)}`] : []));
const failures = (events: RunEvent[]) => JSON.stringify(events.filter((e) => e.kind.includes('fail') || e.kind.includes('rollback')), null, 1);
const logged = (events: RunEvent[]) => events.flatMap((e) => (e.kind === 'step.output' ? [e.line] : []));
const SLOT = 'appservice/rg-web/web/staging';
const PROD = 'appservice/rg-web/web/production';

describe('app-service, end to end on the App Service double', () => {
  it('direct: the image goes into the slot, the slot warms up, and is swapped into production', async () => {
    const { outcome, events } = await run();
    expect(outcome.exitCode, failures(events)).toBe(0);
    expect(azure.image()).toBe('registry.local/web:2.0.0');
    // The previous version waits in the slot: the quick way back.
    expect(azure.image('staging')).toBe('registry.local/web:1.0.0');
    expect(changed(events)).toEqual([
      `${SLOT} image: "registry.local/web:0.9.0" -> "registry.local/web:2.0.0"`,
      `${PROD} image: "registry.local/web:1.0.0" -> "registry.local/web:2.0.0"`,
      `${SLOT} image: "registry.local/web:2.0.0" -> "registry.local/web:1.0.0"`,
    ]);
    const swap = azure.server.calls.find((c) => c.path.endsWith('/slotsswap'));
    expect(swap).toMatchObject({ method: 'POST', body: { targetSlot: 'production', preserveVnet: true }, query: { 'api-version': '2023-12-01' } });
    expect(logged(events)).toContain('app-service target: warming up: slot staging of web app web answers HTTP 503 on /health');
  });

  it('canary: shares of production traffic go to the slot by a routing rule, and the promotion is the swap', async () => {
    const shares: number[] = [];
    const events: RunEvent[] = [];
    const watch = (e: RunEvent) => {
      events.push(e);
      if (e.kind === 'weight.changed') shares.push(azure.share());
    };
    const loaded = await load({ strategy: { type: 'canary', steps: [{ setWeight: 25 }, { pause: { duration: '1m' } }, { setWeight: 50 }] } }, '2.0.0');
    const outcome = await runWorkflow({ loaded, store: new MemoryRunStore(), context: { actor: 'alice', ci: 'local' }, clock: azure.clock, env: { PATH: '', ...azure.env }, subscribers: [watch] });
    expect(outcome.exitCode, failures(events)).toBe(0);
    expect(shares).toEqual([25, 50]);
    expect(azure.share()).toBe(0);
    expect(azure.image()).toBe('registry.local/web:2.0.0');
    expect(changed(events)).toEqual([
      `${SLOT} image: "registry.local/web:0.9.0" -> "registry.local/web:2.0.0"`,
      `${PROD} traffic to staging: "0%" -> "25%"`,
      `${PROD} traffic to staging: "25%" -> "50%"`,
      // The rule goes before the swap: the swap restarts the slot, and then it runs the old version.
      `${PROD} traffic to staging: "50%" -> "0%"`,
      `${PROD} image: "registry.local/web:1.0.0" -> "registry.local/web:2.0.0"`,
      `${SLOT} image: "registry.local/web:2.0.0" -> "registry.local/web:1.0.0"`,
    ]);
    expect(azure.appService.world.misrouted).toEqual([]);
  });

  it('blue-green as App Service does it: all traffic to the warmed slot, a pause with the old version in production, then the swap', async () => {
    const { outcome, events } = await run({ strategy: { type: 'canary', steps: [{ setWeight: 100 }, { pause: { duration: '5m' } }] } });
    expect(outcome.exitCode, failures(events)).toBe(0);
    expect(azure.image()).toBe('registry.local/web:2.0.0');
    expect(azure.share()).toBe(0);
    expect(changed(events)).toContain(`${PROD} traffic to staging: "0%" -> "100%"`);
    expect(azure.appService.world.misrouted).toEqual([]);
  });

  it('blue-green without a router is refused at validation (it takes the app-service router, or a canary to 100)', async () => {
    await expect(load({ strategy: { type: 'blue-green' } }, '2.0.0')).rejects.toThrow(/blue-green switches traffic with a router: add `router` to the stage/);
  });

  it('a bad version never warms up: nothing is swapped, production keeps running, and the run says so', async () => {
    const { outcome, events } = await run({}, 'bad');
    expect(outcome.exitCode).toBe(1);
    expect(outcome.status).toBe('rolled-back');
    expect(azure.image()).toBe('registry.local/web:1.0.0');
    expect(azure.server.calls.some((c) => c.path.endsWith('/slotsswap'))).toBe(false);
    expect(failures(events)).toContain(
      "app-service target: slot staging of web app web did not warm up within 2m (last: slot staging of web app web answers HTTP 500 on /health); nothing was swapped: production still runs registry.local/web:1.0.0; check the slot's log stream (az webapp log tail --name web --slot staging)",
    );
  });

  it('a canary whose slot starts failing under its share: traffic leaves the slot and nothing is swapped', async () => {
    const events: RunEvent[] = [];
    // The new version fails once it takes traffic (a 500 from a slot that is up).
    const breakSlot = (e: RunEvent) => {
      if (e.kind === 'weight.changed' && e.to === 20) azure.appService.world.slot('rg-web', 'web', 'staging').linuxFxVersion = 'DOCKER|registry.local/web:bad';
    };
    const loaded = await load({ strategy: { type: 'canary', abortScaleDownDelay: '0s', steps: [{ setWeight: 20 }, { pause: { duration: '1m' } }] }, monitor: { interval: '10s', failureThreshold: 1 } }, '2.0.0');
    const outcome = await runWorkflow({ loaded, store: new MemoryRunStore(), context: { actor: 'alice', ci: 'local' }, clock: azure.clock, env: { PATH: '', ...azure.env }, subscribers: [(e) => (events.push(e), breakSlot(e))] });
    expect(outcome.status).toBe('rolled-back');
    expect(azure.share()).toBe(0);
    expect(azure.image()).toBe('registry.local/web:1.0.0');
    expect(azure.server.calls.some((c) => c.path.endsWith('/slotsswap'))).toBe(false);
    expect(failures(events)).toContain('new version: slot staging of web app web answers HTTP 500 on /health');
    expect(changed(events)).toEqual([
      `${SLOT} image: "registry.local/web:0.9.0" -> "registry.local/web:2.0.0"`,
      `${PROD} traffic to staging: "0%" -> "20%"`,
      `${PROD} traffic to staging: "20%" -> "0%"`,
    ]);
  });

  it('ARM throttling (about 30 % of calls answered 429 with Retry-After) slows the run down but it succeeds', async () => {
    azure.server.throttle(0.3);
    const { outcome, events } = await run();
    expect(outcome.exitCode, failures(events)).toBe(0);
    expect(azure.server.throttled).toBeGreaterThan(3);
    expect(azure.image()).toBe('registry.local/web:2.0.0');
    expect(logged(events).some((l) => /^app-service target: .*: throttled, retrying in 1\.0s \(attempt 2 of 6\)$/.test(l))).toBe(true);
  });

  it('a swap that meets 409 Conflict (another swap in progress) waits for it, then swaps', async () => {
    azure.server.fail(/\/slotsswap$/, 409, 'Conflict', "There is a slot swap operation in progress for site 'web'; wait for it to complete.", { method: 'POST', times: 2 });
    const { outcome, events } = await run();
    expect(outcome.exitCode, failures(events)).toBe(0);
    expect(azure.image()).toBe('registry.local/web:2.0.0');
    expect(logged(events)).toContain('app-service target: swap slot staging of web app web into production: web app web is busy (409 Conflict, a slot swap in progress?), trying again in 5s');
  });

  it('a slot that does not exist fails the run, saying how to create it', async () => {
    const file = join(dir, 'rollgate.yml');
    writeFileSync(
      file,
      stringify({
        version: 1,
        name: 'web',
        inputs: { version: { default: '2.0.0' } },
        azure: azure.settings,
        environments: { production: {} },
        stages: [{ name: 'web', environment: 'production', target: { ...target, slot: 'preview' } }],
      }),
    );
    const events: RunEvent[] = [];
    const outcome = await runWorkflow({ loaded: await loadWorkflowFile(file), store: new MemoryRunStore(), context: { actor: 'alice', ci: 'local' }, clock: azure.clock, env: { PATH: '', ...azure.env }, subscribers: [(e) => events.push(e)] });
    expect(outcome.exitCode).not.toBe(0);
    expect(failures(events)).toContain(
      'app-service target: slot preview of web app web does not exist (HTTP 404): create it first (az webapp deployment slot create --name web --slot preview), or name an existing slot in the target',
    );
  });

  it('credentials that expire mid-run: the run fails naming the call, and no secret or token is in any event', async () => {
    const revoke = (e: RunEvent) => {
      if (e.kind === 'weight.changed') {
        azure.server.expireTokens();
        azure.server.refuseTokens();
      }
    };
    const events: RunEvent[] = [];
    const loaded = await load({ strategy: { type: 'canary', abortScaleDownDelay: '0s', steps: [{ setWeight: 50 }, { pause: { duration: '1m' } }] }, monitor: { interval: '10s', failureThreshold: 1 } }, '2.0.0');
    const outcome = await runWorkflow({ loaded, store: new MemoryRunStore(), context: { actor: 'alice', ci: 'local' }, clock: azure.clock, env: { PATH: '', ...azure.env }, subscribers: [(e) => (events.push(e), revoke(e))] });
    expect(outcome.exitCode).not.toBe(0);
    expect(outcome.status).toBe('manual-intervention-required');
    const text = JSON.stringify(events);
    expect(text).toMatch(/app-service target: cannot read [^"]*web app web[^"]*|azure: credentials from environment \(AZURE_CLIENT_SECRET\) were refused/);
    expect(text).toContain('AADSTS7000222');
    for (const secret of [azure.env.AZURE_CLIENT_SECRET as string, ...azure.server.identity.issued]) {
      expect(text).not.toContain(secret);
      expect(JSON.stringify(outcome.journal)).not.toContain(secret);
    }
  });

  it('rollgate dies while the swap runs: resume waits for the swap to end, then swaps back', async () => {
    // The first poll of the swap is never answered: the process is as good as dead from then on.
    let held!: () => void;
    const arrived = new Promise<void>((resolve) => (held = resolve));
    azure.appService.holdWhen(/\/operationresults\//, 'GET', () => held());
    const store = new MemoryRunStore();
    const dead = new AbortController();
    const first = run({}, '2.0.0', { store, signal: dead.signal });
    await arrived;
    const journal = (await store.load()) as RunJournal;
    expect(JSON.stringify(journal)).toContain('operationresults');

    const crashed = new MemoryRunStore();
    await crashed.save(journal);
    const events: RunEvent[] = [];
    const resumed = await resumeRun({
      loaded: await load({}, '2.0.0'),
      store: crashed,
      context: { actor: 'bob', ci: 'local' },
      clock: createVirtualClock(journal.clock?.virtualNow as number),
      env: { PATH: '', ...azure.env },
      subscribers: [(e: RunEvent) => events.push(e)],
    });
    expect(resumed.status, failures(events)).toBe('rolled-back');
    expect(azure.image()).toBe('registry.local/web:1.0.0');
    expect(azure.image('staging')).toBe('registry.local/web:2.0.0');
    expect(logged(events)).toContain('app-service target: a swap of slot staging of web app web begun earlier may still run: waiting for it to end before reading the slots');
    expect(changed(events)).toEqual([
      // The swap the dead process began, reported by the one that saw it end…
      `${PROD} image: "registry.local/web:1.0.0" -> "registry.local/web:2.0.0"`,
      `${SLOT} image: "registry.local/web:2.0.0" -> "registry.local/web:1.0.0"`,
      // …and the swap back.
      `${PROD} image: "registry.local/web:2.0.0" -> "registry.local/web:1.0.0"`,
      `${SLOT} image: "registry.local/web:1.0.0" -> "registry.local/web:2.0.0"`,
    ]);
    dead.abort();
    await first.catch(() => undefined);
  });

  it('rollgate dies after it journalled the swap, before the swap reached ARM: resume sees no swap in progress and goes on at once', async () => {
    let held!: () => void;
    const arrived = new Promise<void>((resolve) => (held = resolve));
    azure.appService.holdWhen(/\/slotsswap$/, 'POST', () => held());
    const store = new MemoryRunStore();
    const dead = new AbortController();
    const first = run({}, '2.0.0', { store, signal: dead.signal });
    await arrived;
    const journal = (await store.load()) as RunJournal;
    expect(JSON.stringify(journal)).toContain('swapping');
    expect(azure.appService.world.swapInProgress('rg-web', 'web')).toBeUndefined();

    const crashed = new MemoryRunStore();
    await crashed.save(journal);
    const events: RunEvent[] = [];
    const clock = createVirtualClock(journal.clock?.virtualNow as number);
    azure.follow(clock);
    const resumed = await resumeRun({ loaded: await load({}, '2.0.0'), store: crashed, context: { actor: 'bob', ci: 'local' }, clock, env: { PATH: '', ...azure.env }, subscribers: [(e: RunEvent) => events.push(e)] });
    expect(resumed.status, failures(events)).toBe('rolled-back');
    // Production never changed: nothing to swap back; the slot's candidate stays where it takes no traffic.
    expect(azure.image()).toBe('registry.local/web:1.0.0');
    expect(changed(events).filter((c) => c.startsWith(PROD))).toEqual([]);
    expect(logged(events).some((l) => l.includes('looking again'))).toBe(false);
    dead.abort();
    await first.catch(() => undefined);
  });

  it('rollgate dies after it journalled the swap and ARM began it, before the answer (no status URL kept): resume waits on the slots, then swaps back', async () => {
    // ARM carries out the swap POST, but its answer never reaches rollgate.
    let held!: () => void;
    const arrived = new Promise<void>((resolve) => (held = resolve));
    azure.appService.holdWhen(/\/slotsswap$/, 'POST', () => held(), 1, { acted: true });
    const store = new MemoryRunStore();
    const dead = new AbortController();
    const first = run({}, '2.0.0', { store, signal: dead.signal });
    await arrived;
    const journal = (await store.load()) as RunJournal;
    expect(JSON.stringify(journal)).toContain('swapping');
    expect(JSON.stringify(journal)).not.toContain('operationresults');
    expect(azure.appService.world.swapInProgress('rg-web', 'web')).toBeDefined();

    const crashed = new MemoryRunStore();
    await crashed.save(journal);
    const events: RunEvent[] = [];
    // Nobody polls the swap: it ends 30 s after it began, on the resumed run's clock.
    const clock = createVirtualClock(journal.clock?.virtualNow as number);
    azure.follow(clock);
    const resumed = await resumeRun({
      loaded: await load({}, '2.0.0'),
      store: crashed,
      context: { actor: 'bob', ci: 'local' },
      clock,
      env: { PATH: '', ...azure.env },
      subscribers: [(e: RunEvent) => events.push(e)],
    });
    expect(resumed.status, failures(events)).toBe('rolled-back');
    expect(azure.image()).toBe('registry.local/web:1.0.0');
    expect(azure.image('staging')).toBe('registry.local/web:2.0.0');
    expect(logged(events)).toContain(
      'app-service target: swap slot staging of web app web into production (begun by an earlier run): no status URL; web app web is busy (409 Conflict, the swap still runs?), looking again in 5s',
    );
    expect(changed(events)).toEqual([
      // The swap the dead process began, seen to its end on the slots and reported…
      `${PROD} image: "registry.local/web:1.0.0" -> "registry.local/web:2.0.0"`,
      `${SLOT} image: "registry.local/web:2.0.0" -> "registry.local/web:1.0.0"`,
      // …and the swap back, begun only after it ended.
      `${PROD} image: "registry.local/web:2.0.0" -> "registry.local/web:1.0.0"`,
      `${SLOT} image: "registry.local/web:1.0.0" -> "registry.local/web:2.0.0"`,
    ]);
    dead.abort();
    await first.catch(() => undefined);
  });
});
