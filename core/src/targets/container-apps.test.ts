import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Change } from '../model/events.js';
import { type ContainerAppsFixture, containerAppsFixture } from '../testing/azure/container-apps/fixture.js';
import { fakeStepContext } from '../testing/fakes.js';
import { MemoryProviderStates } from '../testing/state.js';
import * as containerApps from './container-apps.js';
import { spread, suffixOf } from './container-apps/traffic.js';

/* The container-apps target's own decisions and messages, against the Container Apps double. */
let azure: ContainerAppsFixture;
let states: MemoryProviderStates;
let changes: Change[];
beforeEach(async () => {
  azure = await containerAppsFixture();
  states = new MemoryProviderStates();
  changes = [];
});
afterEach(() => azure.cleanup());

const target = (fields: Record<string, unknown> = {}) => containerApps.create(containerApps.configSchema.parse({ type: 'container-apps', app: 'web', interval: '1s', ...fields }), azure.deps(states));
const ctx = () => fakeStepContext({ clock: azure.clock, env: azure.env, changes });
const failure = async (promise: Promise<unknown>) => promise.then(() => undefined, (e: unknown) => e as Error);
const seed = () => azure.apps.seed('web', { image: 'acme.azurecr.io/web:1.0.0', suffix: 'v1-0-0' });
const fields = () => changes.map((c) => `${c.field}: ${JSON.stringify(c.before)} -> ${JSON.stringify(c.after)}`);

describe('container-apps target', () => {
  it('reports the version of the revision taking the most traffic, and what a revert puts back', async () => {
    seed();
    expect(await target().current(ctx())).toEqual({
      version: '1.0.0',
      details: { app: 'containerapp/rg-web/web', revision: 'web--v1-0-0', image: 'acme.azurecr.io/web:1.0.0', traffic: [{ revisionName: 'web--v1-0-0', weight: 100 }] },
    });
  });

  it('an app that does not exist, with no manifest to create it, is said', async () => {
    const err = await failure(target().deploy('2.0.0', ctx()));
    expect(err?.message).toBe('container-apps: container app rg-web/web does not exist; create it first (az containerapp create), or give the target a manifest to create it from on a first deploy');
  });

  it('a manifest that is not a container app body is said', async () => {
    writeFileSync(join(azure.dir, 'bad.json'), JSON.stringify({ kind: 'Deployment' }));
    const err = await failure(target({ manifest: 'bad.json' }).deploy('2.0.0', ctx()));
    expect(err?.message).toMatch(/^container-apps: the manifest .*bad\.json is not a container app's ARM body \(location, properties\.environmentId, properties\.template\)$/);
  });

  it('does not revert over traffic someone else set since', async () => {
    seed();
    const t = target();
    const previous = await t.current(ctx());
    await t.deploy('2.0.0', ctx());
    // Someone deploys 3.0.0 by hand and sends it all traffic.
    azure.apps.seedRevision('web', { image: 'acme.azurecr.io/web:3.0.0', suffix: 'hotfix', weight: 100 });
    const app = azure.apps.world.get('rg-web', 'web');
    if (app) app.ingress.traffic = [{ revisionName: 'web--hotfix', weight: 100 }];
    const err = await failure(t.revert(previous, ctx()));
    expect(err?.message).toBe(
      'container-apps: container app rg-web/web sends web--hotfix 100%, which rollgate did not set (it set web--v2-0-0 100%): someone else changed it since, so rollgate does not put web--v1-0-0 100% back over it; check it, and revert by hand if it should go',
    );
    expect((azure.apps.view('web') as { traffic: unknown }).traffic).toEqual([{ revisionName: 'web--hotfix', weight: 100 }]);
  });

  it('a version deployed again after a revert activates its revision again instead of making another', async () => {
    seed();
    const t = target();
    const previous = await t.current(ctx());
    await t.deploy('2.0.0', ctx());
    await t.revert(previous, ctx());
    changes.length = 0;
    await t.deploy('2.0.0', ctx());
    expect(fields()).toEqual(['revision web--v2-0-0: "inactive" -> "active"', 'traffic: "web--v1-0-0 100%" -> "web--v2-0-0 100%"']);
  });

  it('a revert after a promotion activates the retired revision again, then moves traffic back to it', async () => {
    seed();
    const t = target();
    const previous = await t.current(ctx());
    const candidates = t.candidates;
    await candidates?.deployCandidate('2.0.0', 100, ctx());
    await candidates?.promote(ctx());
    await candidates?.retirePromoted?.(ctx());
    expect(azure.apps.view('web')).toMatchObject({ active: [{ name: 'web--v2-0-0' }] });
    changes.length = 0;
    await t.revert(previous, ctx());
    expect(fields()).toEqual(['revision web--v1-0-0: "inactive" -> "active"', 'traffic: "web--v2-0-0 100%" -> "web--v1-0-0 100%"', 'revision web--v2-0-0: "active" -> "inactive"']);
  });

  it('another image holding the version\'s suffix gets a revision of its own, with a hashed suffix', async () => {
    seed();
    await target({ image: 'acme.azurecr.io/web-next' }).deploy('1.0.0', ctx());
    expect(fields()[0]).toMatch(/^revision web--v1-0-0-[0-9a-f]{6}: null -> "acme.azurecr.io\/web-next:1.0.0"$/);
  });

  it('a revision that never becomes ready runs out of time, saying what to change', async () => {
    seed();
    const err = await failure(target({ timeout: '2m' }).deploy('slow', ctx()));
    expect(err?.message).toBe('container-apps: cannot start revision web--slow (acme.azurecr.io/web:slow) of container app rg-web/web: the operation did not finish within 2m (the revision is still provisioning: see its system logs, az containerapp logs show --name web --type system); the target\'s timeout waits longer');
  });

  it('a change that meets another operation on the app (409 ContainerAppOperationInProgress) waits for it to end, logged', async () => {
    const app = seed();
    // Someone else's change is still being applied for the next 25 s.
    app.busyUntil = azure.clock.now() + 25_000;
    const lines: string[] = [];
    const c = { ...ctx(), log: { info: (m: string) => void lines.push(m), warn: () => {}, output: () => {} } };
    await target().deploy('2.0.0', c);
    expect((azure.apps.view('web') as { traffic: unknown }).traffic).toEqual([{ revisionName: 'web--v2-0-0', weight: 100 }]);
    expect(lines).toContain('container-apps: another operation is in progress on container app rg-web/web: waiting for it to end (attempt 2 of 10)');
  });

  it('Single revision mode: a revert is a new revision of the previous image (an old one cannot take traffic back), and only over what rollgate made', async () => {
    azure.apps.seed('web', { image: 'acme.azurecr.io/web:1.0.0', suffix: 'v1-0-0', mode: 'Single' });
    const t = target();
    const previous = await t.current(ctx());
    await t.deploy('2.0.0', ctx());
    changes.length = 0;
    await t.revert(previous, ctx());
    expect(fields()).toEqual(['revision web--v1-0-0-2: null -> "acme.azurecr.io/web:1.0.0"', 'traffic: "web--v2-0-0 100%" -> "web--v1-0-0-2 100%"']);
    expect(azure.apps.view('web')).toEqual({ mode: 'Single', traffic: [{ latestRevision: true, weight: 100 }], active: [{ name: 'web--v1-0-0-2', images: ['acme.azurecr.io/web:1.0.0'] }] });
    expect((await t.current(ctx()))?.version).toBe('1.0.0');
    // Reverting again changes nothing; over someone else's deploy it refuses.
    changes.length = 0;
    await t.revert(previous, ctx());
    expect(changes).toEqual([]);
    // Someone else deploys another image (their own process, their own state); this run's revert refuses.
    const theirs = containerApps.create(containerApps.configSchema.parse({ type: 'container-apps', app: 'web', image: 'acme.azurecr.io/other' }), azure.deps(new MemoryProviderStates()));
    await theirs.deploy('9.9.9', ctx());
    const err = await failure(t.revert(previous, ctx()));
    expect(err?.message).toBe(
      'container-apps: container app rg-web/web serves revision web--v9-9-9 (acme.azurecr.io/other:9.9.9), which rollgate did not make: someone else deployed it since, so rollgate does not put acme.azurecr.io/web:1.0.0 back over it; check it, and revert by hand if it should go',
    );
  });

  it('candidate health says what the revision is doing', async () => {
    seed();
    const t = target();
    expect(await t.candidates?.candidateHealth(ctx())).toEqual({ healthy: false, ready: 0, total: 0, message: "container app rg-web/web has no candidate revision (labelled 'candidate')" });
    await t.candidates?.deployCandidate('2.0.0', 1, ctx());
    expect(await t.candidates?.candidateHealth(ctx())).toEqual({ healthy: true, ready: 1, total: 1 });
    const err = await failure(target({ label: 'preview' }).candidates?.scale({ stable: 50, candidate: 50 }, ctx()) ?? Promise.resolve());
    expect(err?.message).toBe("container-apps: container app rg-web/web has no revision labelled 'preview' in its traffic: start the candidate before sending it traffic");
  });
});

describe('container-apps traffic', () => {
  it('spreads a total over the stable revisions in their proportions, in whole percents adding up exactly', () => {
    const base = [{ revisionName: 'a', weight: 50 }, { revisionName: 'b', weight: 30 }, { revisionName: 'c', weight: 20 }];
    expect(spread(base, 90).map((t) => t.weight)).toEqual([45, 27, 18]);
    expect(spread(base, 33).map((t) => t.weight)).toEqual([16, 10, 7]);
    expect(spread([{ revisionName: 'a', weight: 0 }], 100)).toEqual([{ revisionName: 'a', weight: 100 }]);
  });

  it('makes revision suffixes Container Apps accepts from any version', () => {
    expect(suffixOf('web', '1.4.2')).toBe('v1-4-2');
    expect(suffixOf('web', 'Release_2024.10')).toBe('release-2024-10');
    expect(suffixOf('web', `sha256:${'ab'.repeat(32)}`)).toMatch(/^sha256-a[ab]+$/);
    expect(`web--${suffixOf('web', `sha256:${'ab'.repeat(32)}`)}`.length).toBeLessThanOrEqual(54);
  });
});
