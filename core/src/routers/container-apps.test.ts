import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ContainerAppsFixture, containerAppsFixture } from '../testing/azure/container-apps/fixture.js';
import { fakeStepContext } from '../testing/fakes.js';
import { MemoryProviderStates } from '../testing/state.js';
import * as router from './container-apps.js';

/* What the container-apps router says when it has nothing to split. */
let azure: ContainerAppsFixture;
beforeEach(async () => {
  azure = await containerAppsFixture();
  azure.apps.seed('web', { image: 'acme.azurecr.io/web:1.0.0', suffix: 'v1' });
});
afterEach(() => azure.cleanup());

const make = (fields: Record<string, unknown>, target?: { type: string; app?: string }) => router.create(router.configSchema.parse({ type: 'container-apps', ...fields }), azure.deps(new MemoryProviderStates(), target));
const ctx = () => fakeStepContext({ clock: azure.clock, env: azure.env });
const failure = async (promise: Promise<unknown>) => promise.then(() => undefined, (e: unknown) => e as Error);

describe('container-apps router', () => {
  it('with no app named and a target that is not a container app, says what to give it', async () => {
    const err = await failure(make({}, { type: 'kubernetes' }).getWeights(ctx()));
    expect(err?.message).toBe('container-apps router: no app to split: name it (router.app), or use it with a container-apps target');
  });

  it('an app without a candidate revision takes no share, and sending one traffic says to start it first', async () => {
    const r = make({ app: 'web' });
    expect(await r.getWeights(ctx())).toEqual({ canary: 0 });
    const err = await failure(r.setWeights({ canary: 20 }, ctx()));
    expect(err?.message).toBe("container-apps: container app rg-web/web has no revision labelled 'candidate' in its traffic: start the candidate before sending it traffic");
  });

  it('an app that does not exist is said', async () => {
    const err = await failure(make({ app: 'shop' }).getWeights(ctx()));
    expect(err?.message).toBe('container-apps: container app rg-web/shop does not exist');
  });
});
