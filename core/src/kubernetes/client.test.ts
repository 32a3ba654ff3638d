import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.js';
import { kubernetesFixture, type KubernetesFixture, webDeployment } from '../testing/kubernetes/fixture.js';
import { contractCall, providerFailure } from '../testing/contracts/kit.js';
import { fakeDeps } from '../testing/fakes.js';
import { DEPLOYMENTS, KubeClient } from './client.js';
import { connection } from './connection.js';
import { settingsSchema } from './family.js';

/* The connection and its errors, through the real @kubernetes/client-node against the API double. */
let k8s: KubernetesFixture;
beforeEach(async () => {
  k8s = await kubernetesFixture();
  k8s.server.seed(webDeployment());
});
afterEach(() => k8s.cleanup());

const settings = (fields: Record<string, unknown> = {}) => settingsSchema.parse(fields);
const signal = () => new AbortController().signal;
const connect = (fields: Record<string, unknown> = { kubeconfig: k8s.kubeconfig }, env: Record<string, string> = {}) => KubeClient.connect(settings(fields), env, k8s.dir);
const failure = providerFailure;

describe('connecting', () => {
  it('reads the kubeconfig the settings name, relative to the workflow, and the namespace of its context', async () => {
    const api = await connect({ kubeconfig: 'kubeconfig' });
    expect(api.namespace).toBe('default');
    expect((await api.get(DEPLOYMENTS, 'default', 'web', signal()))?.metadata?.name).toBe('web');
  });

  it('reads the files KUBECONFIG names, skipping those that do not exist, else ~/.kube/config', async () => {
    const viaEnv = await connect({}, { KUBECONFIG: `${join(k8s.dir, 'missing')}:${k8s.kubeconfig}` });
    expect(await viaEnv.get(DEPLOYMENTS, 'default', 'web', signal())).toBeDefined();
    mkdirSync(join(k8s.dir, 'home', '.kube'), { recursive: true });
    writeFileSync(join(k8s.dir, 'home', '.kube', 'config'), k8s.server.kubeconfig('home', 'apps'));
    expect((await connect({}, { HOME: join(k8s.dir, 'home') })).namespace).toBe('apps');
    expect((await connect({ kubeconfig: k8s.kubeconfig, namespace: 'team' })).namespace).toBe('team');
  });

  it('says where a kubeconfig may come from when there is none', async () => {
    expect((await failure(connect({}, { HOME: join(k8s.dir, 'nowhere') }))).message).toBe(
      `kubernetes: no kubeconfig: set kubernetes.kubeconfig in the workflow, or KUBECONFIG, or put one at ${join(k8s.dir, 'nowhere')}/.kube/config (or set inCluster: true in a pod)`,
    );
    expect((await failure(connect({ kubeconfig: 'nope.yaml' }))).message).toBe(`kubernetes: the kubeconfig ${join(k8s.dir, 'nope.yaml')} (kubernetes.kubeconfig) does not exist`);
  });

  it('names a kubeconfig it cannot read, and a context the file does not have', async () => {
    writeFileSync(join(k8s.dir, 'broken'), 'clusters: [unclosed');
    expect((await failure(connect({ kubeconfig: 'broken' }))).message).toMatch(new RegExp(`^kubernetes: cannot read the kubeconfig ${join(k8s.dir, 'broken')}: `));
    expect((await failure(connect({ kubeconfig: k8s.kubeconfig, context: 'prod' }))).message).toBe(`kubernetes: context 'prod' is not in ${k8s.kubeconfig} (its contexts: double)`);
  });

  it('never quotes a kubeconfig it cannot parse: the lines around the error may hold a token', async () => {
    writeFileSync(join(k8s.dir, 'indented'), 'users:\n- name: ci\n  user:\n    token: SUPERSECRETTOKEN123\n   bad: indentation\n');
    const err = await failure(connect({ kubeconfig: 'indented' }));
    expect(err.message).toMatch(new RegExp(`^kubernetes: cannot read the kubeconfig ${join(k8s.dir, 'indented')}: not valid YAML \\(.+ at line 5, column \\d+\\)$`));
    expect(err.message).not.toContain('SUPERSECRETTOKEN123');
  });

  it('a credential plugin that fails is a login to renew, not an unreachable server', async () => {
    const config = JSON.parse(k8s.server.kubeconfig()) as { users: { user: unknown }[] };
    (config.users[0] as { user: unknown }).user = { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'sh', args: ['-c', 'echo "SSO session expired, run aws sso login" >&2; exit 1'], interactiveMode: 'Never' } };
    writeFileSync(join(k8s.dir, 'exec'), JSON.stringify(config));
    const api = await connect({ kubeconfig: 'exec' }, { PATH: process.env.PATH ?? '' });
    const err = await failure(api.get(DEPLOYMENTS, 'default', 'web', signal()));
    expect(err.message).toMatch(/^kubernetes: cannot read Deployment default\/web: the credentials of the kubeconfig could not be obtained \(.*\); log in again, or check the user's exec plugin or token file$/);
    expect(err.retryable).toBe(false);
  });

  it('in a pod, needs the service host Kubernetes sets', async () => {
    expect((await failure(connect({ inCluster: true }))).message).toBe(
      'kubernetes: inCluster is set but KUBERNETES_SERVICE_HOST is not: rollgate is not running in a pod; use a kubeconfig instead',
    );
    // The service account's files exist only in a pod: the client is made, the first call fails.
    const api = await connect({ inCluster: true }, { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '1' });
    expect(api.server).toBe('https://127.0.0.1:1');
  });
});

describe('a provider’s connection', () => {
  it('is made at the first call, and a failed attempt is not kept: the next call tries again', async () => {
    const kubeconfig = join(k8s.dir, 'later');
    const client = connection(fakeDeps({ workDir: k8s.dir }, { settings: { kubernetes: settings({ kubeconfig }) } }));
    const ctx = contractCall({ clock: k8s.clock }).ctx;
    expect((await failure(client(ctx))).message).toBe(`kubernetes: the kubeconfig ${kubeconfig} (kubernetes.kubeconfig) does not exist`);
    writeFileSync(kubeconfig, k8s.server.kubeconfig());
    expect((await (await client(ctx)).get(DEPLOYMENTS, 'default', 'web', signal()))?.metadata?.name).toBe('web');
  });

  it('with no kubernetes block, reads the runner’s KUBECONFIG', async () => {
    const client = connection(fakeDeps({ workDir: k8s.dir }));
    const ctx = contractCall({ clock: k8s.clock, env: { KUBECONFIG: k8s.kubeconfig } }).ctx;
    expect((await client(ctx)).namespace).toBe('default');
  });
});

describe('API errors', () => {
  it('a refused token says to refresh the credentials, and never shows the token', async () => {
    const api = await connect();
    k8s.server.token = 'rotated';
    const err = await failure(api.get(DEPLOYMENTS, 'default', 'web', signal()));
    expect(err.message).toBe(
      'kubernetes: cannot read Deployment default/web (401 Unauthorized): the credentials were refused (expired or wrong token or certificate): refresh the kubeconfig or the CI secret that writes it',
    );
    expect(err.retryable).toBe(false);
    expect(err.message).not.toContain('double-token');
  });

  it('403 names the permission to grant; 404 on a read is no object', async () => {
    const api = await connect();
    k8s.server.fail(/deployments\/web$/, 403);
    const err = await failure(api.get(DEPLOYMENTS, 'default', 'web', signal()));
    expect(err.message).toBe(
      'kubernetes: cannot read Deployment default/web (403 Forbidden): injected fault: GET /apis/apps/v1/namespaces/default/deployments/web; the credentials lack the permission: grant it to the user or service account (RBAC)',
    );
    expect(await api.get(DEPLOYMENTS, 'default', 'nothing', signal())).toBeUndefined();
    expect(await api.remove(DEPLOYMENTS, 'default', 'nothing', signal())).toBe(false);
  });

  it('429 and 5xx are retryable; other answers are not', async () => {
    const api = await connect();
    k8s.server.fail(/deployments$/, 429, { retryAfter: 1 });
    const throttled = await failure(api.list(DEPLOYMENTS, 'default', undefined, signal()));
    expect(throttled.retryable).toBe(true);
    expect(throttled.message).toContain('(429 TooManyRequests)');
    k8s.server.fail(/deployments\/web$/, 500, { method: 'PUT' });
    const web = (await api.get(DEPLOYMENTS, 'default', 'web', signal())) as NonNullable<Awaited<ReturnType<typeof api.get>>>;
    expect((await failure(api.replace(DEPLOYMENTS, web, signal()))).retryable).toBe(true);
    k8s.server.fail(/deployments$/, 422, { method: 'POST' });
    const invalid = await failure(api.create(DEPLOYMENTS, webDeployment('x:1', 1, 'other'), signal()));
    expect(invalid.retryable).toBe(false);
    expect(invalid.message).toContain('cannot create Deployment default/other (422 Invalid)');
  });

  it('a resource type the server does not serve (a CRD not installed) is not a missing object', async () => {
    const api = await connect();
    const route = { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices', kind: 'VirtualService' };
    expect(await api.get(route, 'default', 'web', signal())).toBeUndefined();
    k8s.server.notServed.add('virtualservices');
    const err = await failure(api.get(route, 'default', 'web', signal()));
    expect(err.message).toBe(
      'kubernetes: cannot read VirtualService default/web: the API server does not serve networking.istio.io/v1 virtualservices (404: the server could not find the requested resource); install the CRDs that define it, or a version that serves networking.istio.io/v1',
    );
  });

  it('creating what someone else created first says so', async () => {
    const api = await connect();
    const err = await failure(api.create(DEPLOYMENTS, webDeployment(), signal()));
    expect(err.message).toBe('kubernetes: cannot create Deployment default/web (409 AlreadyExists): deployments.apps "web" already exists; it exists already: someone else created it');
    expect(KubeClient.isConflict(err)).toBe(true);
  });

  it('a write at a stale resourceVersion is a conflict', async () => {
    const api = await connect();
    const web = (await api.get(DEPLOYMENTS, 'default', 'web', signal())) as NonNullable<Awaited<ReturnType<typeof api.get>>>;
    k8s.server.writeConcurrently(/deployments\/web$/);
    const err = await failure(api.replace(DEPLOYMENTS, web, signal()));
    expect(KubeClient.isConflict(err)).toBe(true);
    expect(err.message).toContain('(409 Conflict): Operation cannot be fulfilled on deployment "web": the object has been modified');
    expect(KubeClient.isConflict(new ProviderError('other'))).toBe(false);
  });

  it('an unreachable API server is retryable and named', async () => {
    const api = await connect();
    await k8s.server.stop();
    const err = await failure(api.nodes(signal()));
    expect(err.message).toBe(`kubernetes: cannot list Nodes: the API server ${k8s.server.url} is unreachable (ECONNREFUSED)`);
    expect(err.retryable).toBe(true);
  });

  it('an aborted call ends with the signal’s reason', async () => {
    const api = await connect();
    k8s.server.hang(/\/pods$/);
    const controller = new AbortController();
    const pending = api.pods({ namespace: 'default' }, controller.signal);
    const reason = new Error('step cancelled');
    setImmediate(() => controller.abort(reason));
    await expect(pending).rejects.toBe(reason);
  });
});
