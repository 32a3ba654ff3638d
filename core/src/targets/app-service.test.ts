import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AppServiceFixture, appServiceFixture } from '../testing/azure/app-service/fixture.js';
import { RESOURCE_GROUP } from '../testing/azure/base/fixture.js';
import { contractCall, providerFailure } from '../testing/contracts/kit.js';
import { MemoryProviderStates } from '../testing/state.js';
import * as appService from './app-service.js';

/*
 * The app-service target's own behaviour and every message a user can meet, against the App
 * Service double on a virtual clock (slots warm up in 20 s; images tagged `bad` never answer).
 */
let azure: AppServiceFixture;
let states: MemoryProviderStates;
beforeEach(async () => {
  azure = await appServiceFixture('registry.local/web:1.0.0', 'registry.local/web:0.9.0');
  states = new MemoryProviderStates();
});
afterEach(() => azure.cleanup());

const parse = (fields: Record<string, unknown> = {}) => appService.configSchema.parse({ type: 'app-service', app: 'web', healthPath: '/health', interval: '1s', timeout: '1m', ...fields });
const target = (fields: Record<string, unknown> = {}) => appService.create(parse(fields), azure.deps(states));
const call = () => contractCall({ clock: azure.clock, env: azure.env });
const candidatesOf = (t: ReturnType<typeof target>) => t.candidates as NonNullable<ReturnType<typeof target>['candidates']>;

describe('app-service target', () => {
  it('reads the version production runs from its linuxFxVersion, with the image in the details', async () => {
    expect(await target().current(call().ctx)).toEqual({ version: '1.0.0', details: { image: 'registry.local/web:1.0.0', app: 'web', slot: 'production' } });
    const health = await target().health(call().ctx);
    expect(health).toEqual({ healthy: true, ready: 1, total: 1 });
  });

  it('refuses production as the slot, and a name App Service would refuse', () => {
    expect(appService.configSchema.safeParse({ type: 'app-service', app: 'web', slot: 'production' }).error?.issues[0]?.message).toBe(
      'the slot is where the new version warms up before the swap: name a slot other than production',
    );
    expect(appService.configSchema.safeParse({ type: 'app-service', app: 'web_app' }).error?.issues[0]?.message).toBe('expected a web app name (letters, digits and -)');
  });

  it('a web app that does not exist says what to check', async () => {
    const err = await providerFailure(target({ app: 'shop' }).current(call().ctx));
    expect(err.message).toBe(
      'app-service target: the production slot of web app shop does not exist (HTTP 404): check the app name and resource group (the target\'s resourceGroup, else azure.resourceGroup), and that the identity may read it',
    );
  });

  it('a web app that runs no container image needs the repository named', async () => {
    await azure.appService.addSite(RESOURCE_GROUP, 'code', '', { staging: '' });
    const err = await providerFailure(target({ app: 'code' }).deploy('2.0.0', call().ctx));
    expect(err.message).toBe(
      'app-service target: web app code runs no container image (its linuxFxVersion is not DOCKER|…), so rollgate cannot tell which repository 2.0.0 is a tag of; set image on the target (image: myregistry.azurecr.io/web)',
    );
    await target({ app: 'code' }).deploy('registry.local/code:1.0.0', call().ctx);
    expect(azure.appService.world.image(RESOURCE_GROUP, 'code')).toBe('registry.local/code:1.0.0');
  });

  it('refuses a slot with sidecars (SITECONTAINERS) or a compose file, naming the app and slot, and changes nothing', async () => {
    azure.appService.world.patchConfig(RESOURCE_GROUP, 'web', 'staging', { linuxFxVersion: 'SITECONTAINERS' });
    const sidecars = await providerFailure(target().deploy('2.0.0', call().ctx));
    expect(sidecars.message).toBe(
      'app-service target: slot staging of web app web runs sidecar containers (SITECONTAINERS), not one container image (DOCKER|…): setting an image would convert it and drop its other containers, so rollgate leaves it alone; deploy it another way, or use rollgate with a single-container Linux app (az webapp config container show --name web --slot staging)',
    );
    expect(azure.appService.world.slot(RESOURCE_GROUP, 'web', 'staging').linuxFxVersion).toBe('SITECONTAINERS');
    expect(azure.server.calls.filter((c) => c.method !== 'GET' && !c.path.includes('oauth2'))).toEqual([]);
    azure.appService.world.patchConfig(RESOURCE_GROUP, 'web', 'production', { linuxFxVersion: 'COMPOSE|dmVyc2lvbjogJzMn' });
    const compose = await providerFailure(target().current(call().ctx));
    expect(compose.message).toBe(
      'app-service target: the production slot of web app web runs a Docker Compose app (COMPOSE|…), not one container image (DOCKER|…): setting an image would convert it and drop its other containers, so rollgate leaves it alone; deploy it another way, or use rollgate with a single-container Linux app (az webapp config container show --name web)',
    );
  });

  it('refuses a Windows container app (windowsFxVersion set)', async () => {
    Object.assign(azure.appService.world.slot(RESOURCE_GROUP, 'web', 'staging'), { linuxFxVersion: '', windowsFxVersion: 'DOCKER|registry.local/web:win' });
    const err = await providerFailure(target().deploy('2.0.0', call().ctx));
    expect(err.message).toBe(
      'app-service target: slot staging of web app web is a Windows container app (windowsFxVersion is set): rollgate sets the image of Linux container apps only (linuxFxVersion DOCKER|…), so it leaves it alone; deploy it another way, or use rollgate with a single-container Linux app (az webapp config container show --name web --slot staging)',
    );
    expect(azure.image()).toBe('registry.local/web:1.0.0');
  });

  it('an image write the slot does not keep fails the deploy before any restart or swap', async () => {
    azure.appService.world.slot(RESOURCE_GROUP, 'web', 'staging').pinned = true;
    const err = await providerFailure(target().deploy('2.0.0', call().ctx));
    expect(err.message).toBe(
      "app-service target: set the image of slot staging of web app web to registry.local/web:2.0.0, but its configuration reads back registry.local/web:0.9.0: something else sets the slot's container (a deployment center, a pipeline or a policy?); check it (az webapp config container show --name web --slot staging) and run again",
    );
    expect(azure.server.calls.some((c) => c.path.endsWith('/restart') || c.path.endsWith('/slotsswap'))).toBe(false);
    expect(azure.image()).toBe('registry.local/web:1.0.0');
  });

  it('revert refuses to swap over a version someone else deployed since', async () => {
    const t = target();
    const previous = await t.current(call().ctx);
    await t.deploy('2.0.0', call().ctx);
    // Someone swaps their own build in by hand.
    azure.appService.world.patchConfig(RESOURCE_GROUP, 'web', 'production', { linuxFxVersion: 'DOCKER|registry.local/web:hotfix' });
    const err = await providerFailure(t.revert(previous, call().ctx));
    expect(err.message).toBe(
      'app-service target: the production slot of web app web runs registry.local/web:hotfix, which rollgate did not swap in (it swapped in registry.local/web:2.0.0): someone else deployed it since, so rollgate does not swap registry.local/web:1.0.0 back over it; check it, and swap by hand (az webapp deployment slot swap --name web --slot staging) if it should go',
    );
    expect(azure.image()).toBe('registry.local/web:hotfix');
  });

  it('revert puts the previous version in the slot first when the slot no longer holds it, then swaps', async () => {
    const t = target();
    const previous = await t.current(call().ctx);
    await t.deploy('2.0.0', call().ctx);
    azure.appService.world.patchConfig(RESOURCE_GROUP, 'web', 'staging', { linuxFxVersion: 'DOCKER|registry.local/web:other' });
    const undo = call();
    await t.revert(previous, undo.ctx);
    expect(azure.image()).toBe('registry.local/web:1.0.0');
    expect(undo.changes.map((c) => `${c.object} ${c.field}: ${String(c.before)} -> ${String(c.after)}`)).toEqual([
      'appservice/rg-web/web/staging image: registry.local/web:other -> registry.local/web:1.0.0',
      'appservice/rg-web/web/production image: registry.local/web:2.0.0 -> registry.local/web:1.0.0',
      'appservice/rg-web/web/staging image: registry.local/web:1.0.0 -> registry.local/web:2.0.0',
    ]);
  });

  it('a write that stays refused with 409 Conflict for the whole timeout gives up, retryable, saying what to do', async () => {
    azure.server.fail(/\/config\/web$/, 409, 'Conflict', 'Cannot modify this site because another operation is in progress.', { method: 'PATCH', times: 1000 });
    const err = await providerFailure(target({ timeout: '30s' }).deploy('2.0.0', call().ctx));
    expect(err.retryable).toBe(true);
    expect(err.message).toBe(
      'app-service target: cannot set the image of slot staging of web app web: web app web stayed busy with another operation (409 Conflict: Cannot modify this site because another operation is in progress.) for 30s; wait for the swap in progress to finish (az webapp deployment slot list) and run again',
    );
  });

  it('candidates: removing the candidate drops the routing rule and puts back what the slot ran', async () => {
    const c = candidatesOf(target());
    await c.deployCandidate('2.0.0', 1, call().ctx);
    await c.scale({ stable: 90, candidate: 10 }, call().ctx);
    expect(azure.share()).toBe(10);
    expect(azure.appService.world.site(RESOURCE_GROUP, 'web').rampUpRules).toEqual([{ name: 'staging', actionHostName: azure.appService.world.slot(RESOURCE_GROUP, 'web', 'staging').hostName, reroutePercentage: 10 }]);
    const removing = call();
    await c.removeCandidate(removing.ctx);
    expect(azure.share()).toBe(0);
    expect(azure.image('staging')).toBe('registry.local/web:0.9.0');
    expect(removing.changes.map((ch) => `${ch.field}: ${String(ch.before)} -> ${String(ch.after)}`)).toEqual(['traffic to staging: 10% -> 0%', 'image: registry.local/web:2.0.0 -> registry.local/web:0.9.0']);
  });

  it("candidates: someone else's routing rules stay as they are", async () => {
    const beta = await azure.appService.addSlot(RESOURCE_GROUP, 'web', 'beta', 'registry.local/web:beta');
    const theirs = { name: 'beta', actionHostName: beta.hostName, reroutePercentage: 5 };
    azure.appService.world.patchConfig(RESOURCE_GROUP, 'web', 'production', { experiments: { rampUpRules: [theirs] } });
    const c = candidatesOf(target());
    await c.deployCandidate('2.0.0', 1, call().ctx);
    await c.scale({ stable: 75, candidate: 25 }, call().ctx);
    await c.promote(call().ctx);
    expect(azure.appService.world.site(RESOURCE_GROUP, 'web').rampUpRules).toEqual([theirs]);
  });

  it('candidates: promote refuses to swap a slot someone changed during the rollout', async () => {
    const t = target();
    await candidatesOf(t).deployCandidate('2.0.0', 1, call().ctx);
    azure.appService.world.patchConfig(RESOURCE_GROUP, 'web', 'staging', { linuxFxVersion: 'DOCKER|registry.local/web:mine' });
    const err = await providerFailure(candidatesOf(t).promote(call().ctx));
    expect(err.message).toBe(
      'app-service target: slot staging of web app web runs registry.local/web:mine, not the candidate registry.local/web:2.0.0 rollgate put there: someone changed it during the rollout, so rollgate does not swap it into production; check the slot and run again',
    );
    expect(azure.image()).toBe('registry.local/web:1.0.0');
  });

  it('candidates: promote without a candidate says so', async () => {
    const err = await providerFailure(candidatesOf(target()).promote(call().ctx));
    expect(err.message).toBe('app-service target: nothing to promote: rollgate has put no version in slot staging of web app web');
  });

  it('a swap that ARM reports failed fails the deploy with ARM\'s words', async () => {
    azure.server.fail(/\/operationresults\//, 500, 'InternalServerError', 'Swap failed: the site could not be warmed up.', { times: 6 });
    const err = await providerFailure(target().deploy('2.0.0', call().ctx));
    expect(err.message).toBe(
      'app-service target: cannot swap slot staging of web app web into production (operation result): the API failed (HTTP 500 InternalServerError): Swap failed: the site could not be warmed up.',
    );
  });

  it('a swap ARM answers with no status URL is followed on the slots until production runs the new image', async () => {
    azure.appService.swapWithoutStatusUrl = true;
    const deploying = call();
    await target().deploy('2.0.0', deploying.ctx);
    expect(azure.image()).toBe('registry.local/web:2.0.0');
    expect(azure.image('staging')).toBe('registry.local/web:1.0.0');
    expect(azure.appService.world.swapInProgress(RESOURCE_GROUP, 'web')).toBeUndefined();
    // While the swap ran, the empty PATCH that looks for it met 409 Conflict.
    expect(azure.server.calls.filter((c) => c.method === 'PATCH' && JSON.stringify(c.body) === '{"properties":{}}').length).toBeGreaterThan(0);
  });

  it('a swap with no status URL that does not end within the timeout gives up, retryable, saying what to do', async () => {
    azure.appService.swapWithoutStatusUrl = true;
    // The slot already runs 0.9.0, warm: the deploy goes straight to the swap, which takes 30 s of the clock.
    const err = await providerFailure(target({ timeout: '10s' }).deploy('0.9.0', call().ctx));
    expect(err.retryable).toBe(true);
    expect(err.message).toBe(
      'app-service target: swap slot staging of web app web into production: no status URL to follow, and web app web stayed busy (409 Conflict) for 10s without production running registry.local/web:0.9.0; wait for the swap to end (az webapp deployment slot list --name web) and run again',
    );
  });

  it('a stopped production reads unhealthy, saying why', async () => {
    azure.appService.world.setState(RESOURCE_GROUP, 'web', 'production', 'Stopped');
    expect(await target().health(call().ctx)).toEqual({ healthy: false, ready: 0, total: 1, message: 'the production slot of web app web is Stopped, not Running' });
  });
});
