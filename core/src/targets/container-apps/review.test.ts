import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { armClient } from '../../azure/arm.js';
import type { Change } from '../../model/events.js';
import * as router from '../../routers/container-apps.js';
import { type ContainerAppsFixture, containerAppsFixture } from '../../testing/azure/container-apps/fixture.js';
import { fakeStepContext } from '../../testing/fakes.js';
import { MemoryProviderStates } from '../../testing/state.js';
import * as containerApps from '../container-apps.js';
import { appRef, awaitRevision } from './api.js';
import { suffixOf } from './traffic.js';

/*
 * The container-apps target where a first review found it wrong: long versions in Single mode,
 * `latestRevision` traffic, a traffic change that failed, changes refused while another operation
 * runs, crashing replicas; and the double where it differed from Container Apps.
 */
let azure: ContainerAppsFixture;
let states: MemoryProviderStates;
let changes: Change[];
let lines: string[];
beforeEach(async () => {
  azure = await containerAppsFixture();
  states = new MemoryProviderStates();
  changes = [];
  lines = [];
});
afterEach(() => azure.cleanup());

const target = (fields: Record<string, unknown> = {}) => containerApps.create(containerApps.configSchema.parse({ type: 'container-apps', app: 'web', interval: '1s', ...fields }), azure.deps(states));
const ctx = (env = azure.env) => ({ ...fakeStepContext({ clock: azure.clock, env, changes }), log: { info: (m: string) => void lines.push(m), warn: (m: string) => void lines.push(m), output: () => {} } });
const failure = async (promise: Promise<unknown>) => promise.then(() => undefined, (e: unknown) => e as Error);
const fields = () => changes.map((c) => `${c.field}: ${JSON.stringify(c.before)} -> ${JSON.stringify(c.after)}`);
const traffic = (app = 'web') => (azure.apps.view(app) as { traffic: unknown }).traffic;
const active = (app = 'web') => (azure.apps.view(app) as { active: { name: string }[] }).active.map((r) => r.name);
const app = (name = 'web') => azure.apps.world.get('rg-web', name);

describe('container-apps: Single revision mode with long versions', () => {
  const long = 'storefront-checkout-service-eu1';
  const sha = (c: string) => c.repeat(40);

  it('a revert of a 40-character git SHA makes a new revision with -2 kept on the shortened version', async () => {
    const first = `4${sha('a').slice(1)}`;
    azure.apps.seed(long, { image: `acme.azurecr.io/web:${first}`, suffix: suffixOf(long, first), mode: 'Single' });
    const t = target({ app: long });
    const previous = await t.current(ctx());
    await t.deploy(sha('b'), ctx());
    changes.length = 0;
    await t.revert(previous, ctx());
    const name = `${long}--${suffixOf(long, first, undefined, 2)}`;
    expect(name).toMatch(/^storefront-checkout-service-eu1--v4a+-2$/);
    expect(name.length).toBeLessThanOrEqual(54);
    expect(fields()[0]).toBe(`revision ${name}: null -> "acme.azurecr.io/web:${first}"`);
    expect(active(long)).toEqual([name]);
    expect((await t.current(ctx()))?.version).toBe(first);
  });

  it('a revert of an sha256 digest does too, and each try gets a name of its own', async () => {
    const digest = `sha256:${'c'.repeat(64)}`;
    azure.apps.seed(long, { image: `acme.azurecr.io/web@${digest}`, suffix: suffixOf(long, digest), mode: 'Single' });
    const t = target({ app: long });
    const previous = await t.current(ctx());
    await t.deploy(`sha256:${'d'.repeat(64)}`, ctx());
    await t.revert(previous, ctx());
    expect(active(long)).toEqual([`${long}--${suffixOf(long, digest, undefined, 2)}`]);
    expect(active(long)[0]).toMatch(/^storefront-checkout-service-eu1--sha256-c+-2$/);
    const tries = [2, 3, 10, 20].map((n) => suffixOf(long, digest, undefined, n));
    expect(new Set(tries).size).toBe(4);
    expect(tries.every((s) => `${long}--${s}`.length <= 54)).toBe(true);
    expect(tries[3]).toMatch(/^sha256-c+-20$/);
  });
});

describe('container-apps: traffic that follows the latest revision', () => {
  const followLatest = () => {
    azure.apps.seed('web', { image: 'acme.azurecr.io/web:1.0.0', suffix: 'v1-0-0' });
    const a = app();
    if (a) a.ingress.traffic = [{ latestRevision: true, weight: 100 }];
  };

  it('is pinned while a candidate runs (said), and written back as found when the candidate is removed', async () => {
    followLatest();
    const t = target();
    await t.candidates?.deployCandidate('2.0.0', 1, ctx());
    await t.candidates?.scale({ stable: 50, candidate: 50 }, ctx());
    await t.candidates?.removeCandidate(ctx());
    expect(traffic()).toEqual([{ latestRevision: true, weight: 100 }]);
    expect(fields()).toEqual([
      'revision web--v2-0-0: null -> "acme.azurecr.io/web:2.0.0"',
      'traffic: "latest revision (web--v1-0-0) 100%" -> "web--v1-0-0 100%"',
      'traffic: "web--v1-0-0 100%" -> "web--v1-0-0 100%, web--v2-0-0 0% (candidate)"',
      'traffic: "web--v1-0-0 100%, web--v2-0-0 0% (candidate)" -> "web--v1-0-0 50%, web--v2-0-0 50% (candidate)"',
      'traffic: "web--v1-0-0 50%, web--v2-0-0 50% (candidate)" -> "web--v1-0-0 100%"',
      'revision web--v2-0-0: "active" -> "inactive"',
      'traffic: "web--v1-0-0 100%" -> "latest revision (web--v1-0-0) 100%"',
    ]);
  });

  it('after a promotion it follows the latest revision again (the new one); a revert puts it back to the old one, as found', async () => {
    followLatest();
    const t = target();
    const previous = await t.current(ctx());
    await t.candidates?.deployCandidate('2.0.0', 1, ctx());
    await t.candidates?.promote(ctx());
    await t.candidates?.retirePromoted?.(ctx());
    expect(traffic()).toEqual([{ latestRevision: true, weight: 100 }]);
    expect(fields().at(-1)).toBe('traffic: "web--v2-0-0 100%" -> "latest revision (web--v2-0-0) 100%"');
    changes.length = 0;
    await t.revert(previous, ctx());
    expect(traffic()).toEqual([{ latestRevision: true, weight: 100 }]);
    expect(active()).toEqual(['web--v1-0-0']);
    expect(fields()).toEqual([
      'revision web--v1-0-0: "inactive" -> "active"',
      'traffic: "web--v2-0-0 100%" -> "web--v1-0-0 100%"',
      'revision web--v2-0-0: "active" -> "inactive"',
      'traffic: "web--v1-0-0 100%" -> "latest revision (web--v1-0-0) 100%"',
    ]);
  });
});

describe('container-apps: traffic that follows the latest revision, direct and through the router', () => {
  it('a direct deploy leaves it following the latest revision, the new one', async () => {
    azure.apps.seed('web', { image: 'acme.azurecr.io/web:1.0.0', suffix: 'v1-0-0' });
    const a = app();
    if (a) a.ingress.traffic = [{ latestRevision: true, weight: 100 }];
    await target().deploy('2.0.0', ctx());
    expect(traffic()).toEqual([{ latestRevision: true, weight: 100 }]);
    expect(fields().slice(-2)).toEqual(['traffic: "web--v1-0-0 100%" -> "web--v2-0-0 100%"', 'traffic: "web--v2-0-0 100%" -> "latest revision (web--v2-0-0) 100%"']);
  });

  it('a canary through the router rolled back (weights reset, candidate removed, router finalized) ends as found', async () => {
    azure.apps.seed('web', { image: 'acme.azurecr.io/web:1.0.0', suffix: 'v1-0-0' });
    const a = app();
    if (a) a.ingress.traffic = [{ latestRevision: true, weight: 100 }];
    const t = target();
    const r = router.create(router.configSchema.parse({ type: 'container-apps' }), azure.deps(new MemoryProviderStates(), { type: 'container-apps', app: 'web' }));
    await t.candidates?.deployCandidate('2.0.0', 1, ctx());
    await r.setWeights({ canary: 30 }, ctx());
    await r.setWeights({ canary: 0 }, ctx());
    await t.candidates?.removeCandidate(ctx());
    await r.finalize(ctx());
    expect(traffic()).toEqual([{ latestRevision: true, weight: 100 }]);
    expect(active()).toEqual(['web--v1-0-0']);
  });
});

describe('container-apps: a traffic change that failed', () => {
  it('leaves a revert possible: the traffic rollgate set before is still its own', async () => {
    azure.apps.seed('web', { image: 'acme.azurecr.io/web:1.0.0', suffix: 'v1-0-0' });
    const t = target();
    const previous = await t.current(ctx());
    await t.candidates?.deployCandidate('2.0.0', 1, ctx());
    await t.candidates?.scale({ stable: 90, candidate: 10 }, ctx());
    azure.server.fail(/containerApps\/web$/, 400, 'ContainerAppInvalidRequest', 'The request is invalid.', { method: 'PATCH', times: 1 });
    const err = await failure(t.candidates?.scale({ stable: 50, candidate: 50 }, ctx()) ?? Promise.resolve());
    expect(err?.message).toContain('The request is invalid.');
    await t.revert(previous, ctx());
    expect(traffic()).toEqual([{ revisionName: 'web--v1-0-0', weight: 100 }]);
    expect(active()).toEqual(['web--v1-0-0']);
  });
});

describe('container-apps: another operation in progress (409)', () => {
  const waited = 'container-apps: another operation is in progress on container app rg-web/web: waiting for it to end (attempt 2 of 10)';

  it('activate and deactivate wait for it to end, logged', async () => {
    azure.apps.seed('web', { image: 'acme.azurecr.io/web:1.0.0', suffix: 'v1-0-0' });
    const t = target();
    const previous = await t.current(ctx());
    await t.candidates?.deployCandidate('2.0.0', 1, ctx());
    await t.candidates?.promote(ctx());
    const a = app();
    if (a) a.busyUntil = azure.clock.now() + 25_000;
    await t.candidates?.retirePromoted?.(ctx());
    expect(active()).toEqual(['web--v2-0-0']);
    expect(lines).toContain(waited);
    lines.length = 0;
    if (a) a.busyUntil = azure.clock.now() + 25_000;
    await t.revert(previous, ctx());
    expect(active()).toEqual(['web--v1-0-0']);
    expect(lines).toContain(waited);
  });

  it('delete waits for it to end, logged', async () => {
    const t = target({ manifest: 'web.json' });
    await t.deploy('2.0.0', ctx());
    const a = app();
    if (a) a.busyUntil = azure.clock.now() + 25_000;
    await t.revert(undefined, ctx());
    expect(app()).toBeUndefined();
    expect(lines).toContain(waited);
  });
});

describe('container-apps: a revision whose replicas fail', () => {
  it('runs Degraded: said as failed replicas, where their logs are, and the causes it may have', async () => {
    azure.apps.seed('web', { image: 'acme.azurecr.io/web:1.0.0', suffix: 'v1-0-0' });
    const err = await failure(target().deploy('crash', ctx()));
    expect(err?.message).toBe(
      "container-apps: revision web--crash of container app rg-web/web runs degraded (provisioning Provisioned, running Degraded, health Unhealthy, 0 replica(s)): one or more replicas failed; see the system logs (az containerapp logs show --name web --resource-group rg-web --revision web--crash --type system): a version whose container crashes or fails its probes, or an environment short of capacity (its workload profile's maximum nodes, the subscription's cores quota)",
    );
    expect(traffic()).toEqual([{ revisionName: 'web--v1-0-0', weight: 100 }]);
  });

  it('an inactive revision is not waited for: said, with how to activate it', async () => {
    azure.apps.seed('web', { image: 'acme.azurecr.io/web:1.0.0', suffix: 'v1-0-0' });
    await target().candidates?.deployCandidate('2.0.0', 1, ctx());
    // Deactivated (by hand, or a change reusing its suffix that Container Apps accepted and ignored).
    const revision = app()?.revisions.find((r) => r.name === 'web--v2-0-0');
    if (revision) revision.active = false;
    const arm = await armClient(azure.deps(states), 'test')(ctx());
    const wait = await failure(awaitRevision(arm, appRef(arm, 'web', undefined), 'web--v2-0-0', { intervalMs: 1000, timeoutMs: 60_000 }, ctx()));
    expect(wait?.message).toBe(
      'container-apps: revision web--v2-0-0 of container app rg-web/web is inactive, so it will not start: activate it (az containerapp revision activate --name web --resource-group rg-web --revision web--v2-0-0) and run again, or deploy another version',
    );
  });
});

describe('the Container Apps double, as Container Apps answers', () => {
  const path = '/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/rg-web/providers/Microsoft.App/containerApps/web';
  const arm = async () => armClient(azure.deps(states), 'test')(ctx());
  const template = (suffix: string, image: string) => ({ revisionSuffix: suffix, containers: [{ name: 'web', image }] });

  it('a PUT on an existing app replaces it: what the body leaves out goes back to its default', async () => {
    azure.apps.seed('web', { image: 'acme.azurecr.io/web:1.0.0', suffix: 'v1-0-0' });
    const a = await arm();
    const put = await a.call({ method: 'PUT', path, apiVersion: '2024-03-01', body: { location: 'westeurope', properties: { template: template('v2', 'acme.azurecr.io/web:2.0.0') } }, what: 'put' });
    await a.poll(put, { what: 'put', path, apiVersion: '2024-03-01' });
    expect(azure.apps.view('web')).toMatchObject({ mode: 'Single', traffic: [{ latestRevision: true, weight: 100 }] });
    expect(app()?.template).toEqual(template('v2', 'acme.azurecr.io/web:2.0.0'));
    expect(app()?.ingress.external).toBe(false);
  });

  it("a template reusing an inactive revision's suffix is accepted and changes nothing (azure-container-apps#650); an active one's is refused", async () => {
    azure.apps.seed('web', { image: 'acme.azurecr.io/web:1.0.0', suffix: 'v1-0-0' });
    azure.apps.seedRevision('web', { image: 'acme.azurecr.io/web:2.0.0', suffix: 'v2' });
    const a = await arm();
    await a.call({ method: 'POST', path: `${path}/revisions/web--v2/deactivate`, apiVersion: '2024-03-01', what: 'deactivate' });
    const patched = await a.call({ method: 'PATCH', path, apiVersion: '2024-03-01', body: { properties: { template: template('v2', 'acme.azurecr.io/web:3.0.0') } }, what: 'patch' });
    await a.poll(patched, { what: 'patch', path, apiVersion: '2024-03-01' });
    expect(app()?.revisions.map((r) => [r.name, r.active, r.template.containers[0]?.image])).toEqual([
      ['web--v1-0-0', true, 'acme.azurecr.io/web:1.0.0'],
      ['web--v2', false, 'acme.azurecr.io/web:2.0.0'],
    ]);
    const err = await failure(a.call({ method: 'PATCH', path, apiVersion: '2024-03-01', body: { properties: { template: template('v1-0-0', 'acme.azurecr.io/web:3.0.0') } }, what: 'patch' }));
    expect(err?.message).toContain("Field 'template.revisionsuffix' is invalid with details: 'Invalid value: \"v1-0-0\": revision with suffix v1-0-0 already exists'");
  });

  it("App Service's identity endpoint (2019-08-01) answers expires_on only, and credentials renew the token by it before ARM refuses it", async () => {
    await azure.cleanup();
    azure = await containerAppsFixture({ tokenLifetimeS: 600 });
    azure.apps.seed('web', { image: 'acme.azurecr.io/web:1.0.0', suffix: 'v1-0-0' });
    const url = `${azure.server.url}/msi/token`;
    const answer = (await (await fetch(`${url}?resource=https://management.azure.com/&api-version=2019-08-01`, { headers: { 'X-IDENTITY-HEADER': azure.server.identity.identityHeader } })).json()) as Record<string, unknown>;
    expect(Object.keys(answer).sort()).toEqual(['access_token', 'expires_on', 'resource', 'token_type']);
    const env = { IDENTITY_ENDPOINT: url, IDENTITY_HEADER: azure.server.identity.identityHeader };
    const t = target();
    await t.current(ctx(env));
    await azure.clock.advance(15 * 60_000);
    const before = azure.server.calls.length;
    expect((await t.current(ctx(env)))?.version).toBe('1.0.0');
    // Two reads (the app, its revision): no call refused with an expired token and sent again.
    expect(azure.server.calls.length - before).toBe(2);
    // The one asked for above, the first run's, and one renewed before it expired.
    expect(azure.server.identity.issued).toHaveLength(3);
  });
});
