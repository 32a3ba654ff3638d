import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../errors.js';
import type { KubeObject } from '../../kubernetes/client.js';
import { routeStatusError } from './status.js';

/* An HTTPRoute at generation 3 and the conditions its Gateway(s) report, as Gateway API implementations write them. */
const WHAT = 'HTTPRoute default/web';
const ok = (type: string, observedGeneration = 3) => ({ type, status: 'True', reason: type, message: 'fine', observedGeneration });
const route = (...parents: Array<{ parentRef?: Record<string, string>; conditions?: unknown[] }>): KubeObject => ({
  metadata: { name: 'web', namespace: 'default', generation: 3 },
  spec: {},
  ...(parents.length > 0 ? { status: { parents } } : {}),
});
const gateway = { name: 'public', namespace: 'infra' };

describe('routeStatusError', () => {
  it.each<[string, KubeObject]>([
    ['no status: no controller reports on it', route()],
    ['Accepted and ResolvedRefs True for the current generation', route({ parentRef: gateway, conditions: [ok('Accepted'), ok('ResolvedRefs'), { type: 'PartiallyInvalid', status: 'False' }] })],
    ['conditions without a generation (an older implementation)', route({ parentRef: gateway, conditions: [{ type: 'Accepted', status: 'True' }, { type: 'ResolvedRefs', status: 'True' }] })],
    ['two Gateways, both serving it', route({ parentRef: gateway, conditions: [ok('Accepted'), ok('ResolvedRefs')] }, { parentRef: { name: 'internal' }, conditions: [ok('Accepted'), ok('ResolvedRefs')] })],
  ])('none for %s', (_, r) => {
    expect(routeStatusError(r, WHAT)).toBeUndefined();
  });

  it.each<[string, KubeObject, string]>([
    [
      'a backend that does not exist',
      route({
        parentRef: gateway,
        conditions: [ok('Accepted'), { type: 'ResolvedRefs', status: 'False', reason: 'BackendNotFound', message: 'Service default/web-canary not found', observedGeneration: 3 }],
      }),
      'gateway-api router: HTTPRoute default/web is not served as written: Gateway infra/public reports ResolvedRefs False (BackendNotFound): Service default/web-canary not found; create the Service it names (the canary backend selects the new version’s pods), or correct the backend names',
    ],
    [
      'a backend in a namespace that does not grant the reference',
      route({ parentRef: gateway, conditions: [ok('Accepted'), { type: 'ResolvedRefs', status: 'False', reason: 'RefNotPermitted', observedGeneration: 3 }] }),
      'gateway-api router: HTTPRoute default/web is not served as written: Gateway infra/public reports ResolvedRefs False (RefNotPermitted); a backend in another namespace needs a ReferenceGrant there that allows this route',
    ],
    [
      'a listener that does not admit the route, on one of two Gateways',
      route(
        { parentRef: gateway, conditions: [ok('Accepted'), ok('ResolvedRefs')] },
        {
          parentRef: { name: 'internal', sectionName: 'https' },
          conditions: [{ type: 'Accepted', status: 'False', reason: 'NotAllowedByListeners', message: 'no listener allows namespace default', observedGeneration: 3 }, ok('ResolvedRefs')],
        },
      ),
      'gateway-api router: HTTPRoute default/web is not served as written: Gateway default/internal (listener https) reports Accepted False (NotAllowedByListeners): no listener allows namespace default',
    ],
    [
      'a refusal wins over a parent that is still reconciling',
      route(
        { parentRef: gateway, conditions: [ok('Accepted', 2), ok('ResolvedRefs', 2)] },
        { parentRef: { kind: 'Service', name: 'web' }, conditions: [{ type: 'Accepted', status: 'False', reason: 'NoMatchingParent', observedGeneration: 3 }, ok('ResolvedRefs')] },
      ),
      'gateway-api router: HTTPRoute default/web is not served as written: Service default/web reports Accepted False (NoMatchingParent)',
    ],
  ])('final for %s', (_, r, message) => {
    const err = routeStatusError(r, WHAT);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err?.message).toBe(message);
    expect(err?.retryable).toBe(false);
  });

  it.each<[string, KubeObject, string]>([
    [
      'conditions of an older generation (the controller has not reconciled the new weights)',
      route({ parentRef: gateway, conditions: [ok('Accepted', 2), ok('ResolvedRefs', 2)] }),
      'gateway-api router: HTTPRoute default/web is not served as written yet: Gateway infra/public has not reconciled generation 3 yet (its Accepted condition is of generation 2); Gateway infra/public has not reconciled generation 3 yet (its ResolvedRefs condition is of generation 2)',
    ],
    [
      'a refusal of an older generation (the new one may be fine)',
      route({ parentRef: gateway, conditions: [ok('Accepted', 3), { type: 'ResolvedRefs', status: 'False', reason: 'BackendNotFound', observedGeneration: 2 }] }),
      'gateway-api router: HTTPRoute default/web is not served as written yet: Gateway infra/public has not reconciled generation 3 yet (its ResolvedRefs condition is of generation 2)',
    ],
    [
      'a condition Unknown',
      route({ parentRef: gateway, conditions: [{ type: 'Accepted', status: 'Unknown', reason: 'Pending', message: 'Waiting for controller', observedGeneration: 3 }, ok('ResolvedRefs')] }),
      'gateway-api router: HTTPRoute default/web is not served as written yet: Gateway infra/public reports Accepted Unknown (Pending): Waiting for controller',
    ],
    [
      'a condition missing',
      route({ parentRef: gateway, conditions: [ok('Accepted')] }),
      'gateway-api router: HTTPRoute default/web is not served as written yet: Gateway infra/public reports no ResolvedRefs condition yet',
    ],
  ])('retryable for %s', (_, r, message) => {
    const err = routeStatusError(r, WHAT);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err?.message).toBe(message);
    expect(err?.retryable).toBe(true);
  });
});
