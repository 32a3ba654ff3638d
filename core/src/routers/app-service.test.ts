import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CandidateTarget } from '../ports/target.js';
import { type AppServiceFixture, appServiceFixture } from '../testing/azure/app-service/fixture.js';
import { contractCall, providerFailure } from '../testing/contracts/kit.js';
import { MemoryProviderStates } from '../testing/state.js';
import * as appService from '../targets/app-service.js';
import * as router from './app-service.js';

/*
 * The app-service router with the app-service target, called in the order the engine's blue-green
 * runs them (deploy-candidate, set-weight 100, promote, finalize; or set-weight 100 then a
 * rollback), against the App Service double: what the router adds until it is registered and a
 * `type: blue-green` run can go through runWorkflow.
 */
let azure: AppServiceFixture;
beforeEach(async () => {
  azure = await appServiceFixture();
});
afterEach(() => azure.cleanup());

const targetConfig = { type: 'app-service', app: 'web', slot: 'staging', healthPath: '/health', interval: '1s', timeout: '1m' };
const call = () => contractCall({ clock: azure.clock, env: azure.env });

function providers() {
  const target = appService.create(appService.configSchema.parse(targetConfig), azure.deps(new MemoryProviderStates()));
  const route = router.create(router.configSchema.parse({ type: 'app-service' }), azure.deps(new MemoryProviderStates(), targetConfig));
  return { candidates: target.candidates as CandidateTarget, route };
}

describe('app-service router', () => {
  it("blue-green: the warmed slot takes all traffic by the rule, the swap promotes it, finalize leaves no rule", async () => {
    const { candidates, route } = providers();
    await candidates.deployCandidate('2.0.0', 100, call().ctx);
    await route.setWeights({ canary: 100 }, call().ctx);
    expect(await route.getWeights(call().ctx)).toEqual({ canary: 100 });
    expect(azure.image()).toBe('registry.local/web:1.0.0');
    const promoting = call();
    await candidates.promote(promoting.ctx);
    // The rule went before the swap: no request met the slot restarting for it, or the old version after it.
    expect(promoting.changes.map((c) => `${c.object} ${c.field}: ${String(c.before)} -> ${String(c.after)}`)).toEqual([
      'appservice/rg-web/web/production traffic to staging: 100% -> 0%',
      'appservice/rg-web/web/production image: registry.local/web:1.0.0 -> registry.local/web:2.0.0',
      'appservice/rg-web/web/staging image: registry.local/web:2.0.0 -> registry.local/web:1.0.0',
    ]);
    expect(azure.appService.world.misrouted).toEqual([]);
    const finalizing = call();
    await route.finalize(finalizing.ctx);
    expect(finalizing.changes).toEqual([]);
    expect(azure.image()).toBe('registry.local/web:2.0.0');
    expect(azure.image('staging')).toBe('registry.local/web:1.0.0');
    expect(await route.getWeights(call().ctx)).toEqual({ canary: 0 });
  });

  it('blue-green rolled back after the switch: traffic back to production at once, nothing swapped', async () => {
    const { candidates, route } = providers();
    await candidates.deployCandidate('2.0.0', 100, call().ctx);
    await route.setWeights({ canary: 100 }, call().ctx);
    await route.setWeights({ canary: 0 }, call().ctx);
    await candidates.removeCandidate(call().ctx);
    await route.finalize(call().ctx);
    expect(azure.share()).toBe(0);
    expect(azure.image()).toBe('registry.local/web:1.0.0');
    expect(azure.image('staging')).toBe('registry.local/web:0.9.0');
  });

  it("names its rule after the slot, sends it to the slot's host name, and drops a leftover rule named rollgate", async () => {
    const { route } = providers();
    const world = azure.appService.world;
    const host = world.slot('rg-web', 'web', 'staging').hostName;
    world.patchConfig('rg-web', 'web', 'production', { experiments: { rampUpRules: [{ name: 'rollgate', actionHostName: host, reroutePercentage: 30 }] } });
    expect(await route.getWeights(call().ctx)).toEqual({ canary: 30 });
    await route.setWeights({ canary: 40 }, call().ctx);
    const patch = azure.server.calls.filter((c) => c.method === 'PATCH' && c.path.endsWith('/sites/web/config/web')).at(-1);
    expect(patch?.body).toEqual({ properties: { experiments: { rampUpRules: [{ name: 'staging', actionHostName: host, reroutePercentage: 40 }] } } });
    await route.setWeights({ canary: 0 }, call().ctx);
    expect(world.site('rg-web', 'web').rampUpRules).toEqual([]);
  });

  it('needs a web app: its own, or the target of its stage', async () => {
    const route = router.create(router.configSchema.parse({ type: 'app-service' }), azure.deps(new MemoryProviderStates()));
    expect((await providerFailure(route.getWeights(call().ctx))).message).toBe(
      'app-service router: no web app: set app on the router, or use it in a stage whose target is app-service',
    );
  });

  it('refuses a share outside 0..100', async () => {
    const { route } = providers();
    expect((await providerFailure(route.setWeights({ canary: 120 }, call().ctx))).message).toBe('app-service router: a share of 120 % is not between 0 and 100');
  });
});
