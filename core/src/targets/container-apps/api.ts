import type { Arm } from '../../azure/arm.js';
import { isNotFound } from '../../azure/arm.js';
import { CloudError } from '../../cloud/retrying.js';
import { ProviderError } from '../../errors.js';
import type { HealthReport } from '../../model/results.js';
import type { StepContext } from '../../ports/step-context.js';
import { formatLimit } from '../../util/command-runner.js';
import { describeTraffic, type Pinned, type TrafficEntry } from './traffic.js';

/*
 * The calls the container-apps target and router make on one app (Microsoft.App/containerApps,
 * api-version 2024-03-01): read it and its revisions, patch its traffic or template (a long-running
 * operation followed to its end), activate and deactivate revisions, and wait until a revision
 * serves. Messages name the app and the revision, and what to look at next.
 */

export const API_VERSION = '2024-03-01';

export interface Container {
  name?: string;
  image?: string;
  [k: string]: unknown;
}

export interface Template {
  revisionSuffix?: string;
  containers?: Container[];
  scale?: { minReplicas?: number; maxReplicas?: number };
  [k: string]: unknown;
}

export interface ContainerApp {
  id?: string;
  name?: string;
  properties?: {
    provisioningState?: string;
    latestRevisionName?: string;
    latestReadyRevisionName?: string;
    configuration?: { activeRevisionsMode?: string; ingress?: { traffic?: TrafficEntry[]; [k: string]: unknown } | null; [k: string]: unknown };
    template?: Template;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface Revision {
  name?: string;
  properties?: {
    active?: boolean;
    provisioningState?: string;
    runningState?: string;
    healthState?: string;
    replicas?: number;
    trafficWeight?: number;
    template?: Template;
  };
}

/** Where an app is, and how messages and recorded changes name it. */
export interface AppRef {
  /** The app's ARM path. */
  path: string;
  /** `containerapp/RG/NAME`, the object of recorded changes. */
  object: string;
  /** `container app RG/NAME`, for messages. */
  what: string;
  name: string;
  group: string;
}

export function appRef(arm: Arm, name: string, resourceGroup: string | undefined): AppRef {
  const scope = arm.scope(resourceGroup);
  const group = decodeURIComponent(scope.split('/').at(-1) as string);
  return { path: `${scope}/providers/Microsoft.App/containerApps/${encodeURIComponent(name)}`, object: `containerapp/${group}/${name}`, what: `container app ${group}/${name}`, name, group };
}

export async function readApp(arm: Arm, ref: AppRef): Promise<ContainerApp | undefined> {
  try {
    return (await arm.call<ContainerApp>({ path: ref.path, apiVersion: API_VERSION, what: `read ${ref.what}` })).body;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function readRevision(arm: Arm, ref: AppRef, revision: string): Promise<Revision | undefined> {
  try {
    return (await arm.call<Revision>({ path: `${ref.path}/revisions/${encodeURIComponent(revision)}`, apiVersion: API_VERSION, what: `read revision ${revision} of ${ref.what}` })).body;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** PATCHes the app and follows the operation to its end (a new revision provisioned, the traffic applied). */
export async function patchApp(arm: Arm, ref: AppRef, body: unknown, what: string, ctx: StepContext, timeoutMs?: number): Promise<void> {
  const response = await busyRetried(() => arm.call({ method: 'PATCH', path: ref.path, apiVersion: API_VERSION, body, what }), ref, ctx);
  try {
    await arm.poll(response, { what, path: ref.path, apiVersion: API_VERSION, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
  } catch (err) {
    if (!(err instanceof Error) || !/did not finish within/.test(err.message)) throw err;
    throw new ProviderError(`${err.message} (the revision is still provisioning: see its system logs, az containerapp logs show --name ${ref.name} --type system); the target's timeout waits longer`, { cause: err });
  }
}

/** Attempts at a change that meets another operation on the app (409 ContainerAppOperationInProgress). */
const BUSY_ATTEMPTS = 10;
const BUSY_WAIT_MS = 10_000;

/**
 * A write sent again while Container Apps answers that another operation on the app is in
 * progress (someone else's deploy, a scale change): it is refused, not queued, until that ends.
 */
async function busyRetried<T>(write: () => Promise<T>, ref: AppRef, ctx: StepContext): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      const busy = err instanceof CloudError && err.status === 409 && /InProgress/i.test(err.code ?? '');
      if (!busy || attempt >= BUSY_ATTEMPTS) throw err;
      ctx.log.info(`container-apps: another operation is in progress on ${ref.what}: waiting for it to end (attempt ${attempt + 1} of ${BUSY_ATTEMPTS})`);
      await ctx.clock.sleep(BUSY_WAIT_MS, ctx.signal);
    }
  }
}

/** Sets the app's traffic (the rest of its ingress as read), and follows the change to its end. */
export async function setTraffic(arm: Arm, ref: AppRef, app: ContainerApp, traffic: readonly Pinned[] | readonly TrafficEntry[], ctx: StepContext, what?: string): Promise<void> {
  const ingress = app.properties?.configuration?.ingress ?? {};
  await patchApp(arm, ref, { properties: { configuration: { ingress: { ...ingress, traffic } } } }, what ?? `send ${describeTraffic(traffic as Pinned[])} of ${ref.what}`, ctx);
}

/** Deletes the app (what a rollback of the deploy that created it does), following the operation; reported. */
export async function deleteApp(arm: Arm, ref: AppRef, ctx: StepContext): Promise<void> {
  const response = await busyRetried(() => arm.call({ method: 'DELETE', path: ref.path, apiVersion: API_VERSION, what: `delete ${ref.what}` }), ref, ctx);
  if (response.status === 204) return;
  await arm.poll(response, { what: `delete ${ref.what}` });
  ctx.recordChange({ object: ref.object, field: 'created', before: 'present', after: null });
}

/** Activates or deactivates a revision; refused like any change while another operation runs on the app, so waited the same way. */
export async function revisionAction(arm: Arm, ref: AppRef, revision: string, action: 'activate' | 'deactivate', ctx: StepContext): Promise<void> {
  const path = `${ref.path}/revisions/${encodeURIComponent(revision)}/${action}`;
  await busyRetried(() => arm.call({ method: 'POST', path, apiVersion: API_VERSION, what: `${action} revision ${revision} of ${ref.what}` }), ref, ctx);
}

/** Whether the app runs revisions side by side (Multiple revision mode). */
export const isMultiple = (app: ContainerApp): boolean => (app.properties?.configuration?.activeRevisionsMode ?? 'Single').toLowerCase() === 'multiple';

/** Whether the app can run a candidate beside the stable revision; when not, what to do about it. */
export function requireMultiple(app: ContainerApp, ref: AppRef): void {
  if (isMultiple(app)) return;
  throw new ProviderError(
    `container-apps: ${ref.what} is in Single revision mode, where a new revision takes all traffic as soon as it is ready: a canary or blue-green needs Multiple revision mode to start a version beside the running one and move traffic itself (a direct deploy works in either); switch it once (az containerapp revision set-mode --name ${ref.name} --resource-group ${ref.group} --mode multiple) and run again`,
  );
}

/** A revision's health: provisioned, Healthy and running; its replicas as ready. */
export function healthOf(revision: Revision | undefined, what: string): HealthReport {
  if (!revision) return { healthy: false, ready: 0, total: 0, message: `${what} does not exist` };
  const p = revision.properties ?? {};
  const replicas = Math.max(0, Math.round(p.replicas ?? 0));
  const wanted = Math.max(1, p.template?.scale?.minReplicas ?? 1, replicas);
  const healthy = p.active !== false && p.provisioningState === 'Provisioned' && p.healthState === 'Healthy' && !/degraded|failed|stopped/i.test(p.runningState ?? '');
  const ready = healthy ? wanted : Math.min(replicas, wanted - 1);
  return { healthy, ready, total: wanted, ...(healthy ? {} : { message: `${what}: ${stateOf(revision)}` }) };
}

function stateOf(revision: Revision): string {
  const p = revision.properties ?? {};
  if (p.active === false) return 'inactive';
  return `provisioning ${p.provisioningState ?? 'unknown'}, running ${p.runningState ?? 'unknown'}, health ${p.healthState ?? 'unknown'}, ${p.replicas ?? 0} replica(s)`;
}

/**
 * Waits until the revision serves (Provisioned, Healthy, running), reading it every `intervalMs`
 * for at most `timeoutMs`. A revision that failed to provision, runs Degraded (replicas failed: a
 * crashing version, or an environment short of capacity) or is inactive is an error at once.
 */
export async function awaitRevision(arm: Arm, ref: AppRef, name: string, limits: { intervalMs: number; timeoutMs: number }, ctx: StepContext): Promise<void> {
  const until = ctx.clock.now() + limits.timeoutMs;
  const what = `revision ${name} of ${ref.what}`;
  let said = '';
  for (;;) {
    const revision = await readRevision(arm, ref, name);
    if (!revision) throw new ProviderError(`container-apps: ${what} disappeared while rollgate waited for it`);
    if (revision.properties?.active === false) {
      // Container Apps accepts a change reusing an inactive revision's suffix and does nothing (microsoft/azure-container-apps#650).
      throw new ProviderError(
        `container-apps: ${what} is inactive, so it will not start: activate it (az containerapp revision activate --name ${ref.name} --resource-group ${ref.group} --revision ${name}) and run again, or deploy another version`,
      );
    }
    const report = healthOf(revision, what);
    if (report.healthy) return;
    const p = revision.properties ?? {};
    if (p.provisioningState === 'Failed' || /failed/i.test(p.runningState ?? '')) {
      throw new ProviderError(`container-apps: ${what} failed to provision (${stateOf(revision)}); see its system logs (az containerapp logs show --name ${ref.name} --revision ${name} --type system)`);
    }
    if (/degraded/i.test(p.runningState ?? '')) {
      throw new ProviderError(
        `container-apps: ${what} runs degraded (${stateOf(revision)}): one or more replicas failed; see the system logs (az containerapp logs show --name ${ref.name} --resource-group ${ref.group} --revision ${name} --type system): a version whose container crashes or fails its probes, or an environment short of capacity (its workload profile's maximum nodes, the subscription's cores quota)`,
      );
    }
    if (report.message && report.message !== said) ctx.log.info(`container-apps: ${report.message}`);
    said = report.message ?? '';
    if (ctx.clock.now() >= until) throw new ProviderError(`container-apps: ${what} did not become ready within ${formatLimit(limits.timeoutMs)} (${stateOf(revision)}); timeout waits longer`);
    await ctx.clock.sleep(limits.intervalMs, ctx.signal);
  }
}
