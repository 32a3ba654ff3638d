import { describe, expect, it } from 'vitest';
import { ArmFault, AppServiceWorld } from './world.js';

function world() {
  let now = 1_000_000;
  const w = new AppServiceWorld({ now: () => now, warmUpMs: 20_000, swapMs: 30_000, swapPolls: 3 });
  w.addSite('rg', 'web', 'registry.local/web:1.0.0', { staging: 'registry.local/web:0.9.0' });
  return { w, advance: (ms: number) => (now += ms) };
}

const fault = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ArmFault) return { status: err.status, code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected an ArmFault');
};

describe('the App Service double', () => {
  it('answers 404 ResourceNotFound for a site or slot that does not exist', () => {
    const { w } = world();
    expect(fault(() => w.site('rg', 'api'))).toMatchObject({ status: 404, code: 'ResourceNotFound' });
    expect(fault(() => w.slot('rg', 'web', 'canary'))).toMatchObject({ status: 404, code: 'ResourceNotFound' });
  });

  it('warms a slot after an image change: 503 until warmUpMs passed, then 200; a bad image never answers', () => {
    const { w, advance } = world();
    const slot = w.patchConfig('rg', 'web', 'staging', { linuxFxVersion: 'DOCKER|registry.local/web:2.0.0' });
    expect(w.health(slot).status).toBe(503);
    advance(20_000);
    expect(w.health(slot).status).toBe(200);
    w.patchConfig('rg', 'web', 'staging', { linuxFxVersion: 'DOCKER|registry.local/web:bad' });
    advance(60_000);
    expect(w.health(slot).status).toBe(500);
    w.setState('rg', 'web', 'staging', 'Stopped');
    expect(w.health(slot).status).toBe(403);
  });

  it('restarts a slot: it warms up again', () => {
    const { w, advance } = world();
    w.restart('rg', 'web', 'staging');
    expect(w.health(w.slot('rg', 'web', 'staging')).status).toBe(503);
    advance(20_000);
    expect(w.health(w.slot('rg', 'web', 'staging')).status).toBe(200);
  });

  it('swaps after three polls: the two slots trade images, each keeps its host name', () => {
    const { w } = world();
    const op = w.startSwap('rg', 'web', 'staging', 'production');
    expect(w.pollSwap(op.id)?.status).toBe('InProgress');
    expect(w.pollSwap(op.id)?.status).toBe('InProgress');
    expect(w.image('rg', 'web')).toBe('registry.local/web:1.0.0');
    expect(w.pollSwap(op.id)?.status).toBe('Succeeded');
    expect(w.image('rg', 'web')).toBe('registry.local/web:0.9.0');
    expect(w.image('rg', 'web', 'staging')).toBe('registry.local/web:1.0.0');
    expect(w.slot('rg', 'web', 'production').hostName).toBe('web.azurewebsites.net');
    expect(w.pollSwap('nope')).toBeUndefined();
  });

  it('swaps after swapMs when nobody polls (a client that crashed mid-swap)', () => {
    const { w, advance } = world();
    w.startSwap('rg', 'web', 'staging', 'production');
    advance(30_000);
    expect(w.swapInProgress('rg', 'web')).toBeUndefined();
    expect(w.image('rg', 'web')).toBe('registry.local/web:0.9.0');
  });

  it('refuses changes and a second swap while a swap runs (409 Conflict)', () => {
    const { w } = world();
    w.startSwap('rg', 'web', 'staging', 'production');
    expect(fault(() => w.startSwap('rg', 'web', 'staging', 'production'))).toMatchObject({ status: 409, code: 'Conflict', message: expect.stringContaining('slot swap operation in progress') });
    expect(fault(() => w.patchConfig('rg', 'web', 'staging', { linuxFxVersion: 'DOCKER|x:1' }))).toMatchObject({ status: 409 });
    expect(fault(() => w.restart('rg', 'web', 'staging'))).toMatchObject({ status: 409 });
    expect(fault(() => w.startSwap('rg', 'web', 'production', 'production'))).toMatchObject({ status: 400 });
  });

  it('keeps routing rules on production only, and checks their percentages', () => {
    const { w } = world();
    w.patchConfig('rg', 'web', 'production', { experiments: { rampUpRules: [{ name: 'rollgate', actionHostName: 'web-staging.azurewebsites.net', reroutePercentage: 20 }] } });
    expect(w.site('rg', 'web').rampUpRules).toHaveLength(1);
    expect(fault(() => w.patchConfig('rg', 'web', 'staging', { experiments: { rampUpRules: [] } }))).toMatchObject({ status: 400 });
    expect(fault(() => w.patchConfig('rg', 'web', 'production', { experiments: { rampUpRules: [{ name: 'x', actionHostName: 'web-staging.azurewebsites.net', reroutePercentage: 120 }] } }))).toMatchObject({ status: 400 });
  });

  it("refuses a routing rule whose actionHostName is not a slot's host name, or that has no name", () => {
    const { w } = world();
    for (const host of ['staging', 'web.azurewebsites.net', 'web-beta.azurewebsites.net']) {
      expect(fault(() => w.patchConfig('rg', 'web', 'production', { experiments: { rampUpRules: [{ name: 'staging', actionHostName: host, reroutePercentage: 10 }] } }))).toEqual({
        status: 400,
        code: 'BadRequest',
        message: `The routing rule 'staging' has actionHostName '${host}', which is not the host name of a deployment slot of site 'web'.`,
      });
    }
    expect(fault(() => w.patchConfig('rg', 'web', 'production', { experiments: { rampUpRules: [{ name: '', actionHostName: 'web-staging.azurewebsites.net', reroutePercentage: 10 }] } }))).toMatchObject({ status: 400, message: 'A routing rule needs a name.' });
  });

  it('a swap restarts the source slot: production traffic a rule sends there meets 503, then the old version', () => {
    const { w, advance } = world();
    w.patchConfig('rg', 'web', 'production', { experiments: { rampUpRules: [{ name: 'staging', actionHostName: 'web-staging.azurewebsites.net', reroutePercentage: 100 }] } });
    expect(w.routed('rg', 'web')).toEqual([{ slot: 'staging', percent: 100, status: 200, body: JSON.stringify({ image: 'registry.local/web:0.9.0' }) }]);
    w.startSwap('rg', 'web', 'staging', 'production');
    expect(w.routed('rg', 'web')).toEqual([{ slot: 'staging', percent: 100, status: 503, body: 'Service Unavailable: the instances restart for a slot swap' }]);
    advance(30_000);
    expect(w.routed('rg', 'web')).toEqual([{ slot: 'staging', percent: 100, status: 200, body: JSON.stringify({ image: 'registry.local/web:1.0.0' }) }]);
    expect(w.misrouted).toEqual([
      "during swap-1: 100% of production's requests went to slot staging, which restarts for the swap (503)",
      "after swap-1: 100% of production's requests went to slot staging, which now runs the old version registry.local/web:1.0.0",
    ]);
  });

  it('a swap with no routing rule sends nothing to the restarting slot', () => {
    const { w, advance } = world();
    w.startSwap('rg', 'web', 'staging', 'production');
    expect(w.routed('rg', 'web')).toEqual([{ slot: 'production', percent: 100, status: 200, body: JSON.stringify({ image: 'registry.local/web:1.0.0' }) }]);
    advance(30_000);
    expect(w.misrouted).toEqual([]);
  });
});
