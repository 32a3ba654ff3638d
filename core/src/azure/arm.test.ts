import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloudError } from '../cloud/retrying.js';
import type { Logger } from '../ports/logger.js';
import { type ArmFixture, armFixture, SUBSCRIPTION } from '../testing/azure/base/fixture.js';
import { fakeStepContext } from '../testing/fakes.js';
import { MemoryProviderStates } from '../testing/state.js';
import { armClient, isNotFound } from './arm.js';

/*
 * The ARM client against the double: api-version on every call, both long-running operation
 * styles followed on the virtual clock (waiting Retry-After), a PUT whose resource provisions,
 * throttling answered with Retry-After, a token refused once (refreshed) and for good.
 */
let azure: ArmFixture;
let lines: string[];
beforeEach(async () => {
  azure = await armFixture();
  lines = [];
});
afterEach(() => azure.cleanup());

const API = '2024-03-01';
const log: Logger = { info: (m) => void lines.push(m), warn: (m) => void lines.push(m), output: () => {} };
const ctx = () => fakeStepContext({ clock: azure.clock, env: azure.env, log });
const client = () => armClient(azure.deps(new MemoryProviderStates()), 'container-apps')(ctx());
const thing = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-web/providers/Test.Double/things/a`;
const failure = async (promise: Promise<unknown>) => {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(CloudError);
  return err as CloudError;
};

describe('azure resource manager client', () => {
  it('sends the api-version, the bearer token, and the scope of the settings', async () => {
    azure.server.route('GET', '/subscriptions/:sub/resourceGroups/:rg/providers/Test.Double/things/:name', ({ params }) => ({ status: 200, body: { name: params.name } }));
    const arm = await client();
    expect(arm.scope()).toBe(`/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-web`);
    expect((await arm.call<{ name: string }>({ path: thing, apiVersion: API, what: 'read thing a' })).body).toEqual({ name: 'a' });
    expect(azure.server.calls).toEqual([{ method: 'GET', path: thing, query: { 'api-version': API }, body: undefined }]);
  });

  it('follows Azure-AsyncOperation until Succeeded, waiting Retry-After on the clock, then reads the resource', async () => {
    let polls = 0;
    let state = 'old';
    azure.server.route('PATCH', thing, () => azure.server.asyncOperation(() => (++polls < 3 ? { status: 'InProgress' } : ((state = 'new'), { status: 'Succeeded' }))));
    azure.server.route('GET', thing, () => ({ status: 200, body: { state } }));
    const arm = await client();
    const since = azure.clock.now();
    const started = await arm.call({ method: 'PATCH', path: thing, apiVersion: API, body: { state: 'new' }, what: 'update thing a' });
    expect(started.status).toBe(202);
    expect(await arm.poll(started, { what: 'update thing a', path: thing, apiVersion: API })).toEqual({ state: 'new' });
    expect(azure.clock.now() - since).toBe(3000);
  });

  it('an operation that ends Failed throws its ARM error', async () => {
    azure.server.route('PUT', thing, () => azure.server.asyncOperation(() => ({ status: 'Failed', error: { code: 'ContainerAppImagePullFailed', message: "image 'web:bad' not found" } }), 201, {}));
    const arm = await client();
    const started = await arm.call({ method: 'PUT', path: thing, apiVersion: API, body: {}, what: 'create thing a' });
    const err = await failure(arm.poll(started, { what: 'create thing a', path: thing, apiVersion: API }));
    expect(err.message).toBe("container-apps: cannot create thing a: the operation ended Failed: ContainerAppImagePullFailed: image 'web:bad' not found");
    expect(err.code).toBe('ContainerAppImagePullFailed');
  });

  it('follows Location while it answers 202, to its result', async () => {
    let polls = 0;
    azure.server.route('POST', `${thing}/restart`, () => ({ status: 202, headers: { location: `${azure.server.url}${thing}/result?api-version=${API}`, 'retry-after': '5' } }));
    azure.server.route('GET', `${thing}/result`, () => (++polls < 2 ? { status: 202, headers: { 'retry-after': '5' } } : { status: 200, body: { done: true } }));
    const arm = await client();
    const since = azure.clock.now();
    const started = await arm.call({ method: 'POST', path: `${thing}/restart`, apiVersion: API, what: 'restart thing a' });
    expect(await arm.poll(started, { what: 'restart thing a' })).toEqual({ done: true });
    expect(azure.clock.now() - since).toBe(10_000);
  });

  it('reads a resource again while its provisioningState is not terminal', async () => {
    let reads = 0;
    azure.server.route('PUT', thing, () => ({ status: 201, body: { properties: { provisioningState: 'InProgress' } } }));
    azure.server.route('GET', thing, () => ({ status: 200, body: { properties: { provisioningState: ++reads < 3 ? 'InProgress' : 'Succeeded' } } }));
    const arm = await client();
    const started = await arm.call({ method: 'PUT', path: thing, apiVersion: API, body: {}, what: 'create thing a' });
    expect(await arm.poll(started, { what: 'create thing a', path: thing, apiVersion: API, intervalMs: 1000 })).toEqual({ properties: { provisioningState: 'Succeeded' } });
    expect(reads).toBe(3);
  });

  it('throttled calls (429 TooManyRequests, Retry-After) are retried after the wait ARM asks for', async () => {
    azure.server.route('GET', thing, () => ({ status: 200, body: { ok: true } }));
    azure.server.throttle(2);
    const arm = await client();
    const since = azure.clock.now();
    expect((await arm.call({ path: thing, apiVersion: API, what: 'read thing a' })).body).toEqual({ ok: true });
    expect(azure.clock.now() - since).toBe(2000);
    expect(lines.filter((l) => l.startsWith('container-apps: read thing a: throttled, retrying in 1.0s'))).toHaveLength(2);
  });

  it('the double refuses a request without api-version as ARM does', async () => {
    const arm = await client();
    const token = (await arm.call({ path: thing, apiVersion: API, what: 'read thing a' }).catch(() => undefined), azure.server.identity.issued.at(-1));
    const answer = await fetch(`${azure.server.url}${thing}`, { headers: { authorization: `Bearer ${token}` } });
    expect(answer.status).toBe(400);
    expect(await answer.json()).toEqual({ error: { code: 'MissingApiVersionParameter', message: 'The api-version query parameter (?api-version=) is required for all requests.' } });
  });

  it('a 404 is a CloudError with status 404, with ARM\'s code and message', async () => {
    const err = await failure((await client()).call({ path: thing, apiVersion: API, what: 'read thing a' }));
    expect(isNotFound(err)).toBe(true);
    expect(err.message).toContain('container-apps: cannot read thing a: not found (HTTP 404 ResourceNotFound)');
  });

  it('a token that expired is replaced once; refused for good, the call fails naming it, without the token', async () => {
    azure.server.route('GET', thing, () => ({ status: 200, body: { ok: true } }));
    const arm = await client();
    await arm.call({ path: thing, apiVersion: API, what: 'read thing a' });
    azure.server.expireTokens();
    expect((await arm.call({ path: thing, apiVersion: API, what: 'read thing a' })).body).toEqual({ ok: true });
    azure.server.expireTokens();
    azure.server.refuseTokens();
    const err = await (await client()).call({ path: thing, apiVersion: API, what: 'read thing a' }).then(() => undefined, (e: unknown) => e as Error);
    expect(err?.message).toMatch(/^azure: credentials from environment \(AZURE_CLIENT_SECRET\) were refused \(HTTP 401: invalid_client: AADSTS7000222: The provided client secret keys for app are expired/);
    for (const token of azure.server.identity.issued) expect(err?.message).not.toContain(token);
    expect(err?.message).not.toContain(azure.server.identity.clientSecret);
  });

  it('a token that ARM keeps refusing fails the call as credentials refused', async () => {
    azure.server.route('GET', thing, () => ({ status: 200, body: { ok: true } }));
    azure.server.fail(/things\/a$/, 401, 'InvalidAuthenticationTokenTenant', 'The access token is from the wrong issuer.', { times: 2 });
    const err = await failure((await client()).call({ path: thing, apiVersion: API, what: 'read thing a' }));
    expect(err.message).toContain('container-apps: cannot read thing a: the credentials were refused (HTTP 401 InvalidAuthenticationTokenTenant)');
  });

  it('no subscription and no resource group are said', async () => {
    const deps = azure.deps(new MemoryProviderStates());
    const bare = { ...deps, settings: () => ({ endpoint: azure.server.url }) };
    const arm = await armClient(bare, 'container-apps')(fakeStepContext({ clock: azure.clock, env: {} }));
    expect(() => arm.scope('rg')).toThrow('container-apps: no Azure subscription: set azure.subscriptionId in the workflow, or AZURE_SUBSCRIPTION_ID');
    const withSub = await armClient(bare, 'container-apps')(fakeStepContext({ clock: azure.clock, env: { AZURE_SUBSCRIPTION_ID: SUBSCRIPTION } }));
    expect(() => withSub.scope()).toThrow('container-apps: no resource group: set resourceGroup on the provider, or azure.resourceGroup');
  });
});
