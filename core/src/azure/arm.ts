import { type RestResponse, restCall, type RestService } from '../cloud/rest.js';
import { CloudError } from '../cloud/retrying.js';
import { ProviderError } from '../errors.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import { formatLimit } from '../util/command-runner.js';
import { retryAfterMs } from '../util/retry-after.js';
import { azureTokenSource } from './credentials.js';
import { type AzureSettings, endpointOf, settingsOf } from './family.js';

/*
 * Azure Resource Manager for one provider: JSON calls with the `api-version` every ARM request
 * needs, a token from the runner's Azure credentials (refreshed once on a 401), throttling (429
 * with Retry-After) and 5xx retried call by call by restCall, and the two documented styles of
 * long-running operation followed to their end on the step's clock:
 *   - `Azure-AsyncOperation`: a status resource polled until Succeeded, Failed or Canceled;
 *   - `Location`: polled while it answers 202, until 200 (the result) or 204;
 * and a PUT or PATCH answered with the resource whose `properties.provisioningState` is not yet
 * terminal: the resource itself is read again until it is.
 */

export interface ArmRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A path under the ARM endpoint (`/subscriptions/…`), or a whole URL ARM gave (a Location). */
  path: string;
  apiVersion: string;
  body?: unknown;
  query?: Record<string, string | undefined>;
  /** What the call does, for messages: "update the container app web". */
  what: string;
}

export interface PollOptions {
  what: string;
  /** The resource the operation changes, read when it has ended (a PUT's or PATCH's own path). */
  path?: string;
  apiVersion?: string;
  /** Wait between two polls when ARM gives no Retry-After (default 2 s). */
  intervalMs?: number;
  /** How long the operation may take (default: until the step's deadline). */
  timeoutMs?: number;
}

export interface Arm {
  /** The subscription (settings, else AZURE_SUBSCRIPTION_ID); throws when neither names one. */
  readonly subscriptionId: string;
  /** `/subscriptions/S/resourceGroups/G` of `group` (default: the settings'); throws when there is none. */
  scope(group?: string): string;
  call<T>(request: ArmRequest): Promise<RestResponse<T>>;
  /** Follows a long-running operation `response` began, to the resource (or result) it ends with. */
  poll<T>(response: RestResponse<T>, options: PollOptions): Promise<T>;
}

const TERMINAL = new Set(['succeeded', 'failed', 'canceled', 'cancelled']);
const DEFAULT_POLL_MS = 2000;
/** Longest wait between two polls, whatever Retry-After says (ARM asks 1 to 60 s). */
const MAX_POLL_MS = 60_000;

/** The ARM client of a provider named `name` (the provider's type, first in every message). */
export function armClient(deps: ProviderDeps, name: string): (ctx: StepContext) => Promise<Arm> {
  const settings = settingsOf(deps.settings('azure'));
  const auth = azureTokenSource(settings);
  const service: RestService = { name, auth };
  return async (ctx) => arm(settings, service, name, ctx);
}

function arm(settings: AzureSettings, service: RestService, name: string, ctx: StepContext): Arm {
  const endpoint = endpointOf(settings);
  const subscription = () => {
    const id = settings.subscriptionId ?? ctx.env.AZURE_SUBSCRIPTION_ID;
    if (!id) throw new ProviderError(`${name}: no Azure subscription: set azure.subscriptionId in the workflow, or AZURE_SUBSCRIPTION_ID in the job's environment (azure/login does not set it)`);
    return id;
  };

  const call = <T>(request: ArmRequest): Promise<RestResponse<T>> => {
    const absolute = /^https?:\/\//.test(request.path);
    return restCall<T>(
      service,
      {
        method: request.method ?? 'GET',
        url: absolute ? request.path : `${endpoint}${request.path}`,
        // A URL ARM handed back (Location, Azure-AsyncOperation) carries its own api-version.
        query: { ...(absolute && new URL(request.path).searchParams.has('api-version') ? {} : { 'api-version': request.apiVersion }), ...request.query },
        ...(request.body !== undefined ? { body: request.body } : {}),
        what: request.what,
      },
      ctx,
    );
  };

  const wait = async (response: { headers: { get(name: string): string | null } }, options: PollOptions & { until?: number }) => {
    if (options.until !== undefined && ctx.clock.now() >= options.until) {
      throw new CloudError(`${name}: cannot ${options.what}: the operation did not finish within ${formatLimit(options.timeoutMs ?? 0)}`);
    }
    const asked = retryAfterMs(response.headers.get('retry-after'));
    await ctx.clock.sleep(Math.min(MAX_POLL_MS, asked ?? options.intervalMs ?? DEFAULT_POLL_MS), ctx.signal);
  };

  const failed = (options: PollOptions, status: string, error: unknown): CloudError => {
    const e = (error ?? {}) as { code?: string; message?: string };
    const said = e.code || e.message ? `: ${[e.code, e.message].filter(Boolean).join(': ')}` : '';
    return new CloudError(`${name}: cannot ${options.what}: the operation ended ${status}${said}`, { ...(e.code ? { code: e.code } : {}) });
  };

  const finalRead = async <T>(options: PollOptions, fallback: T): Promise<T> => {
    if (!options.path) return fallback;
    return (await call<T>({ path: options.path, apiVersion: options.apiVersion ?? '', what: options.what })).body;
  };

  async function poll<T>(first: RestResponse<T>, given: PollOptions): Promise<T> {
    const options = given.timeoutMs === undefined ? given : { ...given, until: ctx.clock.now() + given.timeoutMs };
    const asyncUrl = first.headers.get('azure-asyncoperation');
    const location = first.headers.get('location');
    if (asyncUrl) {
      let last: RestResponse<unknown> = first;
      for (;;) {
        await wait(last, options);
        last = await call<{ status?: string; error?: unknown }>({ path: asyncUrl, apiVersion: options.apiVersion ?? '', what: `${options.what} (operation status)` });
        const body = (last.body ?? {}) as { status?: string; error?: unknown };
        const status = String(body.status ?? '');
        if (status.toLowerCase() === 'succeeded') return finalRead(options, first.body);
        if (TERMINAL.has(status.toLowerCase())) throw failed(options, status, body.error);
      }
    }
    if (location && first.status === 202) {
      let last: RestResponse<unknown> = first;
      for (;;) {
        await wait(last, options);
        last = await call<unknown>({ path: location, apiVersion: options.apiVersion ?? '', what: `${options.what} (operation result)` });
        if (last.status !== 202) return (last.status === 204 ? undefined : last.body) as T;
      }
    }
    let resource = first;
    for (;;) {
      const state = provisioningState(resource.body);
      if (state === undefined || state.toLowerCase() === 'succeeded') return resource.body;
      if (TERMINAL.has(state.toLowerCase())) {
        throw failed(options, state, (resource.body as { properties?: { provisioningError?: unknown } }).properties?.provisioningError);
      }
      if (!options.path) return resource.body;
      await wait(resource, options);
      resource = await call<T>({ path: options.path, apiVersion: options.apiVersion ?? '', what: options.what });
    }
  }

  return {
    get subscriptionId() {
      return subscription();
    },
    scope(group) {
      const rg = group ?? settings.resourceGroup;
      if (!rg) throw new ProviderError(`${name}: no resource group: set resourceGroup on the provider, or azure.resourceGroup in the workflow`);
      return `/subscriptions/${encodeURIComponent(subscription())}/resourceGroups/${encodeURIComponent(rg)}`;
    },
    call,
    poll,
  };
}

/** `properties.provisioningState` of an ARM resource, when it has one. */
export function provisioningState(body: unknown): string | undefined {
  const state = (body as { properties?: { provisioningState?: unknown } } | undefined)?.properties?.provisioningState;
  return typeof state === 'string' ? state : undefined;
}

/** `true` for the 404 of a resource (or resource group) that does not exist. */
export function isNotFound(err: unknown): boolean {
  return err instanceof CloudError && err.status === 404;
}
