import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.js';
import type { TrafficRouter } from '../ports/traffic-router.js';
import { contractCall, rejection } from '../testing/contracts/kit.js';
import { kubernetesFixture, type KubernetesFixture } from '../testing/kubernetes/fixture.js';
import { virtualService } from '../testing/kubernetes/routes.js';
import { MemoryProviderStates } from '../testing/state.js';
import * as router from './istio.js';

/*
 * The istio router against the Kubernetes API double (the real client over HTTP): what only a
 * VirtualService has (http routes, destinations by host and subset, whole percents), and every
 * message a user can meet.
 */
let k8s: KubernetesFixture;
beforeEach(async () => {
  k8s = await kubernetesFixture();
});
afterEach(() => k8s.cleanup());

type Http = Array<{ name?: string; route?: Array<Record<string, unknown>>; [k: string]: unknown }>;
const to = (host: string, subset?: string, port?: number) => ({ destination: { host, ...(subset ? { subset } : {}), ...(port ? { port: { number: port } } : {}) } });
/** Three http routes: /docs to another host, / (named primary) and /legacy both to web's stable subset. */
const HTTP: Http = [
  { name: 'docs', match: [{ uri: { prefix: '/docs' } }], route: [to('docs')] },
  { name: 'primary', match: [{ uri: { prefix: '/' } }], retries: { attempts: 3 }, route: [{ ...to('web', 'stable', 8080), headers: { response: { set: { 'x-version': 'stable' } } } }] },
  { match: [{ uri: { prefix: '/legacy' } }], route: [to('web', 'stable', 8080)] },
];

const make = (fields: Record<string, unknown> = {}, states = new MemoryProviderStates()): TrafficRouter =>
  router.create(
    router.configSchema.parse({ type: 'istio', virtualService: 'web', stable: { host: 'web', subset: 'stable' }, canary: { host: 'web', subset: 'canary' }, ...fields }),
    k8s.deps(states),
  );
const call = () => contractCall({ clock: k8s.clock });
const ctx = () => call().ctx;
const http = () => (k8s.server.cluster.get('virtualservices', 'default', 'web')?.spec as { http: Http }).http;
const failure = async (promise: Promise<unknown>) => (await rejection(promise)) as ProviderError;

describe('istio router', () => {
  it('splits only the http route it is told, by name or index, with the stable destination’s port; finalize puts that route back', async () => {
    k8s.server.seed(virtualService(HTTP));
    const byName = make({ route: 'primary' });
    const first = call();
    await byName.setWeights({ canary: 10 }, first.ctx);
    const after = [{ ...to('web', 'stable', 8080), headers: { response: { set: { 'x-version': 'stable' } } }, weight: 90 }, { ...to('web', 'canary', 8080), weight: 10 }];
    expect(http()).toEqual([HTTP[0], { ...HTTP[1], route: after }, HTTP[2]]);
    expect(first.changes).toEqual([{ object: 'virtualservice/default/web', field: 'spec.http[1].route', before: HTTP[1]?.route, after }]);
    expect(await byName.getWeights(ctx())).toEqual({ canary: 10 });
    await byName.finalize(ctx());
    expect(http()).toEqual(HTTP);

    const byIndex = make({ route: 2 });
    await byIndex.setWeights({ canary: 100 }, ctx());
    expect(http()).toEqual([HTTP[0], HTTP[1], { ...HTTP[2], route: [{ ...to('web', 'stable', 8080), weight: 0 }, { ...to('web', 'canary', 8080), weight: 100 }] }]);
    expect(await byIndex.getWeights(ctx())).toEqual({ canary: 100 });
    await byIndex.finalize(ctx());
    expect(http()).toEqual(HTTP);
  });

  it('splits between two hosts without subsets', async () => {
    k8s.server.seed(virtualService([{ route: [to('web-stable.default.svc.cluster.local')] }]));
    const r = make({ stable: { host: 'web-stable.default.svc.cluster.local' }, canary: { host: 'web-canary.default.svc.cluster.local' } });
    await r.setWeights({ canary: 25 }, ctx());
    expect(http()[0]?.route).toEqual([{ ...to('web-stable.default.svc.cluster.local'), weight: 75 }, { ...to('web-canary.default.svc.cluster.local'), weight: 25 }]);
    expect(await r.getWeights(ctx())).toEqual({ canary: 25 });
  });

  it('says which http route it cannot tell, or find', async () => {
    k8s.server.seed(virtualService(HTTP));
    expect((await failure(make().setWeights({ canary: 10 }, ctx()))).message).toBe(
      "istio router: http route 'primary' (1) and http route 2 of VirtualService default/web all send traffic to destination web (subset stable); set route (an index or a name) to say which one rollgate splits",
    );
    expect((await failure(make({ route: 7 }).getWeights(ctx()))).message).toBe(
      "istio router: VirtualService default/web has no http route 7 (its http routes: http route 'docs' (0), http route 'primary' (1), http route 2); route counts from 0",
    );
    expect((await failure(make({ route: 'main' }).setWeights({ canary: 10 }, ctx()))).message).toBe(
      "istio router: VirtualService default/web has no http route named 'main' (its http routes: http route 'docs' (0), http route 'primary' (1), http route 2)",
    );
    // A destination of the stable host in another subset is not the stable one.
    expect((await failure(make({ route: 'primary', stable: { host: 'web', subset: 'v1' } }).setWeights({ canary: 10 }, ctx()))).message).toBe(
      "istio router: http route 'primary' (1) of VirtualService default/web does not send traffic to destination web (subset v1) (its backends: destination web:8080 (subset stable)); check the router's stable backend",
    );
    expect(http()).toEqual(HTTP);
  });

  it('refuses a share that is not a whole percent before it asks the API anything', async () => {
    k8s.server.seed(virtualService(HTTP));
    const before = k8s.server.requests.length;
    const states = new MemoryProviderStates();
    const err = await failure(make({ route: 'primary' }, states).setWeights({ canary: 2.5 }, ctx()));
    expect(err.message).toBe('istio router: Istio route weights are whole percents summing to 100, so 2.5 % cannot be written; use a whole number');
    expect(err.nothingChanged).toBe(true);
    expect(k8s.server.requests.length).toBe(before);
    expect(states.puts).toBe(0);
  });

  it('refuses a route whose other destinations take traffic too; one without a weight takes none', async () => {
    k8s.server.seed(virtualService([{ route: [{ ...to('web', 'stable'), weight: 80 }, { ...to('mirror'), weight: 20 }] }]));
    expect((await failure(make().setWeights({ canary: 10 }, ctx()))).message).toBe(
      "istio router: http route 0 of VirtualService default/web also sends traffic to destination mirror (weight 20), so the canary's share would not be the one rollgate sets; give it weight 0 or a rule of its own",
    );
    k8s.server.seed(virtualService([{ route: [{ ...to('web', 'stable'), weight: 100 }, to('mirror')] }]));
    await make().setWeights({ canary: 10 }, ctx());
    expect(http()[0]?.route).toEqual([{ ...to('web', 'stable'), weight: 90 }, { ...to('web', 'canary'), weight: 10 }, to('mirror')]);
  });

  it('a write that meets 409 Conflict reads the VirtualService again and keeps what the other writer wrote', async () => {
    k8s.server.seed(virtualService([{ route: [to('web', 'stable')] }]));
    k8s.server.writeConcurrently(/\/virtualservices\/web$/);
    await make().setWeights({ canary: 30 }, ctx());
    expect(k8s.server.requests.filter((r) => r.method === 'PUT').length).toBe(2);
    expect(k8s.server.cluster.get('virtualservices', 'default', 'web')?.metadata?.annotations).toHaveProperty('touched');
    expect(http()[0]?.route).toEqual([{ ...to('web', 'stable'), weight: 70 }, { ...to('web', 'canary'), weight: 30 }]);
  });

  it('gives up, retryably, when every write of five meets a conflict', async () => {
    k8s.server.seed(virtualService([{ route: [to('web', 'stable')] }]));
    k8s.server.writeConcurrently(/\/virtualservices\/web$/, { times: 5 });
    const err = await failure(make().setWeights({ canary: 30 }, ctx()));
    expect(err.message).toBe(
      'istio router: VirtualService default/web changed under rollgate 5 times in a row (409 Conflict at each write, each read again first); something else keeps writing it, such as a GitOps controller that owns it',
    );
    expect(err.retryable).toBe(true);
  });

  it('names a VirtualService that does not exist', async () => {
    const message = 'istio router: VirtualService default/web does not exist; create it, with an http route to the destination web (subset stable), before the rollout (or correct virtualService and namespace)';
    expect((await failure(make().setWeights({ canary: 10 }, ctx()))).message).toBe(message);
    expect((await failure(make().getWeights(ctx()))).message).toBe(message);
  });

  it('says when the credentials are refused or lack the permission, and retries neither', async () => {
    k8s.server.seed(virtualService([{ route: [to('web', 'stable')] }]));
    k8s.server.token = 'rotated';
    const expired = await failure(make().setWeights({ canary: 10 }, ctx()));
    expect(expired.message).toMatch(/^kubernetes: cannot read VirtualService default\/web \(401 Unauthorized\): .*the credentials were refused \(expired or wrong token or certificate\): refresh the kubeconfig/);
    expect(expired.retryable).toBe(false);
    k8s.server.token = 'double-token';
    k8s.server.fail(/\/virtualservices\/web$/, 403, { method: 'GET' });
    const forbidden = await failure(make().getWeights(ctx()));
    expect(forbidden.message).toMatch(/^kubernetes: cannot read VirtualService default\/web \(403 Forbidden\): .*the credentials lack the permission: grant it to the user or service account \(RBAC\)$/);
    expect(forbidden.retryable).toBe(false);
  });

  it('refuses a canary destination that is the stable one', () => {
    const parsed = router.configSchema.safeParse({ type: 'istio', virtualService: 'web', stable: { host: 'web' }, canary: { host: 'web' } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['canary', 'the canary destination must differ from the stable one (another host, or another subset)']]);
  });
});
