import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.js';
import type { TrafficRouter } from '../ports/traffic-router.js';
import { contractCall, rejection } from '../testing/contracts/kit.js';
import { kubernetesFixture, type KubernetesFixture } from '../testing/kubernetes/fixture.js';
import { gatewayController, type GatewayController } from '../testing/kubernetes/gateway-controller.js';
import { httpRoute, service } from '../testing/kubernetes/routes.js';
import { MemoryProviderStates } from '../testing/state.js';
import * as router from './gateway-api.js';

/*
 * The gateway-api router against the Kubernetes API double (the real client over HTTP), with a
 * Gateway controller reporting each route's status: what only an HTTPRoute has (rules, their
 * backendRefs, what the Gateway says of them), and every message a user can meet.
 */
let k8s: KubernetesFixture;
let gateway: GatewayController;
beforeEach(async () => {
  k8s = await kubernetesFixture();
  k8s.server.seed(service('web'), service('web-canary'), service('docs'));
  gateway = gatewayController(k8s.server);
});
afterEach(() => k8s.cleanup());

type Rules = Array<{ name?: string; backendRefs?: Array<Record<string, unknown>>; [k: string]: unknown }>;
const prefix = (value: string) => [{ path: { type: 'PathPrefix', value } }];
/** Three rules: /docs to another Service, / (named app) and /legacy both to web. */
const RULES: Rules = [
  { name: 'docs', matches: prefix('/docs'), backendRefs: [{ name: 'docs', port: 80 }] },
  { name: 'app', matches: prefix('/'), filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'x-app', value: 'web' }] } }], backendRefs: [{ group: '', kind: 'Service', name: 'web', port: 8080 }] },
  { matches: prefix('/legacy'), backendRefs: [{ name: 'web', port: 8080 }] },
];
const one = (backendRefs: Array<Record<string, unknown>>) => [{ matches: prefix('/'), backendRefs }];

const make = (fields: Record<string, unknown> = {}, states = new MemoryProviderStates()): TrafficRouter =>
  router.create(router.configSchema.parse({ type: 'gateway-api', httpRoute: 'web', stableBackend: 'web', canaryBackend: 'web-canary', ...fields }), k8s.deps(states));
const call = () => contractCall({ clock: k8s.clock });
const ctx = () => call().ctx;
const rules = () => (k8s.server.cluster.get('httproutes', 'default', 'web')?.spec as { rules: Rules }).rules;
const failure = async (promise: Promise<unknown>) => (await rejection(promise)) as ProviderError;

describe('gateway-api router', () => {
  it('splits only the rule it is told, by name or index, copying the stable backendRef for the canary; finalize puts that rule back', async () => {
    k8s.server.seed(httpRoute(RULES));
    const byName = make({ rule: 'app' });
    const first = call();
    await byName.setWeights({ canary: 10 }, first.ctx);
    const canary = { group: '', kind: 'Service', name: 'web-canary', port: 8080, weight: 10 };
    expect(rules()).toEqual([RULES[0], { ...RULES[1], backendRefs: [{ group: '', kind: 'Service', name: 'web', port: 8080, weight: 90 }, canary] }, RULES[2]]);
    expect(first.changes).toEqual([
      { object: 'httproute/default/web', field: 'spec.rules[1].backendRefs', before: RULES[1]?.backendRefs, after: [{ group: '', kind: 'Service', name: 'web', port: 8080, weight: 90 }, canary] },
    ]);
    expect(await byName.getWeights(ctx())).toEqual({ canary: 10 });
    await byName.finalize(ctx());
    expect(rules()).toEqual(RULES);

    const byIndex = make({ rule: 2 });
    await byIndex.setWeights({ canary: 2.5 }, ctx());
    expect(rules()).toEqual([RULES[0], RULES[1], { ...RULES[2], backendRefs: [{ name: 'web', port: 8080, weight: 975 }, { name: 'web-canary', port: 8080, weight: 25 }] }]);
    expect(await byIndex.getWeights(ctx())).toEqual({ canary: 2.5 });
    await byIndex.finalize(ctx());
    expect(rules()).toEqual(RULES);
  });

  it('says which rule it cannot tell, or find', async () => {
    k8s.server.seed(httpRoute(RULES));
    expect((await failure(make().setWeights({ canary: 10 }, ctx()))).message).toBe(
      "gateway-api router: rule 'app' (1) and rule 2 of HTTPRoute default/web all send traffic to Service web; set rule (an index or a name) to say which one rollgate splits",
    );
    expect((await failure(make({ rule: 3 }).setWeights({ canary: 10 }, ctx()))).message).toBe(
      "gateway-api router: HTTPRoute default/web has no rule 3 (its rules: rule 'docs' (0), rule 'app' (1), rule 2); rule counts from 0",
    );
    expect((await failure(make({ rule: 'api' }).getWeights(ctx()))).message).toBe(
      "gateway-api router: HTTPRoute default/web has no rule named 'api' (its rules: rule 'docs' (0), rule 'app' (1), rule 2)",
    );
    expect((await failure(make({ rule: 'docs' }).setWeights({ canary: 10 }, ctx()))).message).toBe(
      "gateway-api router: rule 'docs' (0) of HTTPRoute default/web does not send traffic to Service web (its backends: Service docs:80); check the router's stable backend",
    );
    expect(rules()).toEqual(RULES);
  });

  it('with port, only the backendRefs of that port are the versions, and an added canary gets it', async () => {
    k8s.server.seed(httpRoute(one([{ name: 'web', port: 8080 }])));
    expect((await failure(make({ port: 9090 }).setWeights({ canary: 10 }, ctx()))).message).toBe(
      "gateway-api router: no rule of HTTPRoute default/web sends traffic to Service web:9090 (its rules: rule 0); check the stable backend, or set rule",
    );
    k8s.server.seed(httpRoute(one([{ name: 'web', port: 9090 }, { name: 'web', port: 8080, weight: 0 }])));
    await make({ port: 9090 }).setWeights({ canary: 40 }, ctx());
    expect(rules()[0]?.backendRefs).toEqual([{ name: 'web', port: 9090, weight: 60 }, { name: 'web-canary', port: 9090, weight: 40 }, { name: 'web', port: 8080, weight: 0 }]);
  });

  it('refuses a rule whose other backends take traffic too, and reads a rule that sends nothing as an error', async () => {
    k8s.server.seed(httpRoute(one([{ name: 'web', port: 80 }, { name: 'docs', port: 80 }])));
    expect((await failure(make().setWeights({ canary: 10 }, ctx()))).message).toBe(
      "gateway-api router: rule 0 of HTTPRoute default/web also sends traffic to Service docs:80 (weight 1), so the canary's share would not be the one rollgate sets; give it weight 0 or a rule of its own",
    );
    k8s.server.seed(httpRoute(one([{ name: 'web', port: 80, weight: 0 }])));
    const err = await failure(make().getWeights(ctx()));
    expect(err.message).toBe('gateway-api router: rule 0 of HTTPRoute default/web sends no traffic anywhere (every weight is 0)');
    expect(err.retryable).toBe(false);
  });

  it('a write that meets 409 Conflict reads the route again and keeps what the other writer wrote', async () => {
    k8s.server.seed(httpRoute(one([{ name: 'web', port: 80 }])));
    k8s.server.writeConcurrently(/\/httproutes\/web$/);
    const puts = () => k8s.server.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/httproutes/web')).length;
    const said: string[] = [];
    await make().setWeights({ canary: 30 }, contractCall({ clock: k8s.clock, log: { warn() {}, output() {}, info: (line) => said.push(line) } }).ctx);
    expect(puts()).toBe(2);
    expect(said).toEqual(['gateway-api router: HTTPRoute default/web changed while rollgate wrote it (409 Conflict): reading it again (attempt 2 of 5)']);
    const route = k8s.server.cluster.get('httproutes', 'default', 'web');
    expect(route?.metadata?.annotations).toHaveProperty('touched');
    expect(rules()[0]?.backendRefs).toEqual([{ name: 'web', port: 80, weight: 70 }, { name: 'web-canary', port: 80, weight: 30 }]);
  });

  it('gives up, retryably, when every write of five meets a conflict', async () => {
    k8s.server.seed(httpRoute(one([{ name: 'web', port: 80 }])));
    k8s.server.writeConcurrently(/\/httproutes\/web$/, { times: 5 });
    const err = await failure(make().setWeights({ canary: 30 }, ctx()));
    expect(err.message).toBe(
      'gateway-api router: HTTPRoute default/web changed under rollgate 5 times in a row (409 Conflict at each write, each read again first); something else keeps writing it, such as a GitOps controller that owns it',
    );
    expect(err.retryable).toBe(true);
    expect(rules()[0]?.backendRefs).toEqual([{ name: 'web', port: 80 }]);
  });

  it('names a route that does not exist', async () => {
    const message = 'gateway-api router: HTTPRoute shop/web does not exist; create it, with a rule whose backendRef is the Service web, before the rollout (or correct httpRoute and namespace)';
    expect((await failure(make({ namespace: 'shop' }).setWeights({ canary: 10 }, ctx()))).message).toBe(message);
    expect((await failure(make({ namespace: 'shop' }).getWeights(ctx()))).message).toBe(message);
  });

  it('says when the credentials are refused or lack the permission, and retries neither', async () => {
    k8s.server.seed(httpRoute(one([{ name: 'web', port: 80 }])));
    k8s.server.token = 'rotated';
    const expired = await failure(make().getWeights(ctx()));
    expect(expired.message).toMatch(/^kubernetes: cannot read HTTPRoute default\/web \(401 Unauthorized\): .*the credentials were refused \(expired or wrong token or certificate\): refresh the kubeconfig/);
    expect(expired.retryable).toBe(false);
    k8s.server.token = 'double-token';
    k8s.server.fail(/\/httproutes\/web$/, 403, { method: 'PUT' });
    const forbidden = await failure(make().setWeights({ canary: 10 }, ctx()));
    expect(forbidden.message).toMatch(/^kubernetes: cannot update HTTPRoute default\/web \(403 Forbidden\): .*the credentials lack the permission: grant it to the user or service account \(RBAC\)$/);
    expect(forbidden.retryable).toBe(false);
    expect(rules()[0]?.backendRefs).toEqual([{ name: 'web', port: 80 }]);
  });

  it('the canary backend a Gateway cannot find fails getWeights, not retryably', async () => {
    k8s.server.cluster.delete('services', 'default', 'web-canary');
    k8s.server.seed(httpRoute(one([{ name: 'web', port: 80 }])));
    const r = make();
    await r.setWeights({ canary: 10 }, ctx());
    const err = await failure(r.getWeights(ctx()));
    expect(err.message).toBe(
      'gateway-api router: HTTPRoute default/web is not served as written: Gateway infra/public reports ResolvedRefs False (BackendNotFound): Service default/web-canary not found; create the Service it names (the canary backend selects the new version’s pods), or correct the backend names',
    );
    expect(err.retryable).toBe(false);
    await r.finalize(ctx());
    expect(await r.getWeights(ctx())).toEqual({ canary: 0 });
  });

  it('a Gateway that has not reconciled the new generation yet is retryable, until it has', async () => {
    k8s.server.seed(httpRoute(one([{ name: 'web', port: 80 }])));
    const r = make();
    expect(await r.getWeights(ctx())).toEqual({ canary: 0 });
    gateway.paused = true;
    await r.setWeights({ canary: 30 }, ctx());
    const err = await failure(r.getWeights(ctx()));
    expect(err.message).toBe(
      'gateway-api router: HTTPRoute default/web is not served as written yet: Gateway infra/public has not reconciled generation 2 yet (its Accepted condition is of generation 1); Gateway infra/public has not reconciled generation 2 yet (its ResolvedRefs condition is of generation 1)',
    );
    expect(err.retryable).toBe(true);
    gateway.paused = false;
    expect(await r.getWeights(ctx())).toEqual({ canary: 30 });
  });

  it('a Gateway that refuses the route fails getWeights with its reason', async () => {
    k8s.server.seed(httpRoute(one([{ name: 'web', port: 80 }])));
    gateway.refusal = { reason: 'NotAllowedByListeners', message: 'no listener of Gateway infra/public allows routes from namespace default' };
    const err = await failure(make().getWeights(ctx()));
    expect(err.message).toBe(
      'gateway-api router: HTTPRoute default/web is not served as written: Gateway infra/public reports Accepted False (NotAllowedByListeners): no listener of Gateway infra/public allows routes from namespace default',
    );
    expect(err.retryable).toBe(false);
  });

  it('with no Gateway reporting on the route, it says once that it reads the weights as written', async () => {
    k8s.server.cluster.reportStatus('httproutes', undefined);
    k8s.server.seed(httpRoute(one([{ name: 'web', port: 80, weight: 3 }, { name: 'web-canary', port: 80, weight: 1 }])));
    const warnings: string[] = [];
    const log = { info() {}, output() {}, warn: (line: string) => warnings.push(line) };
    const r = make();
    expect(await r.getWeights(contractCall({ clock: k8s.clock, log }).ctx)).toEqual({ canary: 25 });
    expect(await r.getWeights(contractCall({ clock: k8s.clock, log }).ctx)).toEqual({ canary: 25 });
    expect(warnings).toEqual(['gateway-api router: no Gateway controller reports on HTTPRoute default/web (it has no status.parents): rollgate reads its weights as written, not as served']);
  });

  it('an aborted call asks nothing of the API, and says it was cancelled when the abort gave no error', async () => {
    const before = k8s.server.requests.length;
    const controller = new AbortController();
    controller.abort('the job was cancelled');
    const err = await failure(make().setWeights({ canary: 10 }, contractCall({ clock: k8s.clock, signal: controller.signal }).ctx));
    expect(err.message).toBe('gateway-api router: cancelled');
    expect(k8s.server.requests.length).toBe(before);
  });

  it('refuses a canary backend that is the stable one', () => {
    const parsed = router.configSchema.safeParse({ type: 'gateway-api', httpRoute: 'web', stableBackend: 'web', canaryBackend: 'web' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['canaryBackend', 'canaryBackend must name another Service than stableBackend']]);
  });
});
