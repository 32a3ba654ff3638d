import { ProviderError } from '../../errors.js';
import type { HealthReport } from '../../model/results.js';
import type { StepContext } from '../../ports/step-context.js';
import type { DockerClient } from '../../swarm/client.js';
import { imageOfTemplate, replicasOf, type Service, type Task } from '../../swarm/types.js';
import { formatLimit } from '../../util/command-runner.js';

/*
 * Waiting for a service to settle, and its health, from what Swarm reports: `UpdateStatus` (where
 * Swarm's own rollout of the last change is: updating, paused, rolling back…) and the tasks (which
 * image each runs, and whether it runs: a task with a health check runs only once it is healthy).
 */

export interface Limits {
  intervalMs: number;
  timeoutMs: number;
}

/** Update states in which Swarm is still moving tasks. */
const MOVING = new Set(['updating', 'rollback_started']);
/** Task states after which a task never runs again. */
const ENDED = new Set(['failed', 'rejected', 'complete', 'shutdown', 'orphaned', 'remove']);

/** How far the service is from running `image` on every task it wants, and nothing else. */
export interface Progress {
  wanted: number;
  /** Tasks running `image`. */
  ready: number;
  /** Tasks still running another image. */
  others: number;
  state: string | undefined;
  /** Why the latest task of `image` that ended did, when one did. */
  lastError: string | undefined;
  /** Every task it wants runs `image`, none runs another, and Swarm has not stopped the update. */
  converged: boolean;
  /** Converged, and Swarm is no longer moving tasks (its update completed, or there was none). */
  done: boolean;
  message: string;
}

export function progressOf(service: Service, tasks: readonly Task[], image: string): Progress {
  const name = service.Spec.Name ?? service.ID;
  // The tasks Swarm wants to run. Those it is stopping are out of the service's load balancing
  // already (Swarm waits 2 s after that before it stops their containers): they count as gone, as
  // they do for `docker service update`. One of another image it still wants, even one still
  // starting, is a task an update has yet to replace: right after a write, before Swarm's updater
  // has begun (its UpdateStatus is empty then), that is what says the service has not settled.
  const wantedTasks = tasks.filter((t) => t.DesiredState === 'running' && !ENDED.has(t.Status?.State ?? ''));
  const ready = wantedTasks.filter((t) => imageOfTemplate(t.Spec) === image && t.Status?.State === 'running').length;
  const others = wantedTasks.filter((t) => imageOfTemplate(t.Spec) !== image).length;
  // A global service wants one task per eligible node: those the orchestrator keeps running, and
  // at least one (right after it is created, the orchestrator has made none yet).
  const wanted = replicasOf(service.Spec) ?? Math.max(1, wantedTasks.length);
  const state = service.UpdateStatus?.State;
  const failed = tasks
    .filter((t) => imageOfTemplate(t.Spec) === image && ENDED.has(t.Status?.State ?? '') && (t.Status?.Err ?? '') !== '')
    .sort((a, b) => (a.Status?.Timestamp ?? '').localeCompare(b.Status?.Timestamp ?? ''))
    .at(-1);
  const lastError = failed?.Status?.Err;
  const converged = ready === wanted && others === 0 && state !== 'paused' && state !== 'rollback_paused';
  const done = converged && !MOVING.has(state ?? '');
  const update = state ? ` (update ${state.replace('_', ' ')}${service.UpdateStatus?.Message ? `: ${service.UpdateStatus.Message}` : ''})` : '';
  const old = others > 0 ? `, ${others} still on another image` : '';
  const why = lastError && !done ? `; a task of ${image} ended: ${lastError}` : '';
  return { wanted, ready, others, state, lastError, converged, done, message: `service ${name}: ${ready} of ${wanted} tasks run ${image}${old}${update}${why}` };
}

/**
 * Waits until `name` runs `image` on every task it wants, reading it every `intervalMs` (the step's
 * clock and signal) for at most `timeoutMs`: until Swarm reports its update completed, or, as
 * `docker service update` waits, until every task has kept running the image for the service's
 * UpdateConfig.Monitor (the window in which Swarm counts a task's failure against the update;
 * Swarm itself reports completion a little later, after the update's trailing delay). Throws a
 * `ProviderError` when Swarm pauses the update or rolls it back (its own `FailureAction`), when the
 * service is changed to another image or removed meanwhile, and when the wait runs out. A rollback
 * Swarm runs towards `image` (what a revert wants) is waited for.
 */
export async function awaitSettled(api: DockerClient, name: string, image: string, limits: Limits, ctx: StepContext): Promise<void> {
  const until = ctx.clock.now() + limits.timeoutMs;
  let said = '';
  let steadySince: number | undefined;
  for (;;) {
    const service = await api.service(name, ctx.signal);
    if (!service) throw removed(name, image);
    const now = imageOfTemplate(service.Spec.TaskTemplate);
    const state = service.UpdateStatus?.State;
    const message = service.UpdateStatus?.Message ? `: ${service.UpdateStatus.Message}` : '';
    const inspect = `see \`docker service ps ${name} --no-trunc\``;
    if (now !== image) {
      if (state?.startsWith('rollback')) {
        throw new ProviderError(`swarm target: Swarm rolled the update of service ${name} to ${image} back to ${now}${message} (its UpdateConfig.FailureAction is rollback); ${inspect} for why its tasks failed`);
      }
      throw new ProviderError(`swarm target: service ${name} was changed to ${now} by someone else while rollgate waited for ${image}`);
    }
    const tasks = await api.serviceTasks(service, ctx.signal);
    if (!tasks) throw removed(name, image);
    const progress = progressOf(service, tasks, image);
    if (state === 'paused' || state === 'rollback_paused') {
      const what = state === 'paused' ? 'update' : 'rollback';
      const last = progress.lastError ? `; a task of ${image} ended: ${progress.lastError}` : '';
      throw new ProviderError(
        `swarm target: Swarm paused the ${what} of service ${name} to ${image}${message}${last} (UpdateConfig.FailureAction pauses it when tasks fail); ${inspect}; a rollback puts the previous spec back`,
      );
    }
    if (progress.done) return;
    steadySince = progress.converged ? (steadySince ?? ctx.clock.now()) : undefined;
    if (steadySince !== undefined && ctx.clock.now() - steadySince >= monitorOf(service)) return;
    if (progress.message !== said) ctx.log.info(`swarm: ${progress.message}`);
    said = progress.message;
    if (ctx.clock.now() >= until) {
      throw new ProviderError(`swarm target: service ${name} did not settle on ${image} within ${formatLimit(limits.timeoutMs)} (${progress.message}); ${inspect}; timeout waits longer`);
    }
    await ctx.clock.sleep(limits.intervalMs, ctx.signal);
  }
}

/** Waits until no task of a removed service runs any more, so nothing of it still serves. */
export async function awaitGone(api: DockerClient, serviceId: string, name: string, limits: Limits, ctx: StepContext): Promise<void> {
  const until = ctx.clock.now() + limits.timeoutMs;
  for (;;) {
    // A removed service can no longer be named in a filter: every task is read, and its own picked.
    const tasks = (await api.tasks({}, ctx.signal)).filter((t) => t.ServiceID === serviceId);
    const left = tasks.filter((t) => !ENDED.has(t.Status?.State ?? '')).length;
    if (left === 0) return;
    if (ctx.clock.now() >= until) {
      throw new ProviderError(`swarm target: ${left} task(s) of removed service ${name} still run after ${formatLimit(limits.timeoutMs)}; see \`docker ps\` on its nodes`);
    }
    await ctx.clock.sleep(limits.intervalMs, ctx.signal);
  }
}

/** A service's health from its tasks: those running its image against those it wants, Swarm done moving. */
export async function healthOf(api: DockerClient, name: string, ctx: StepContext): Promise<HealthReport> {
  const service = await api.service(name, ctx.signal);
  if (!service) return { healthy: false, ready: 0, total: 0, message: `service ${name} does not exist` };
  const tasks = await api.serviceTasks(service, ctx.signal);
  if (!tasks) return { healthy: false, ready: 0, total: 0, message: `service ${name} does not exist` };
  const progress = progressOf(service, tasks, imageOfTemplate(service.Spec.TaskTemplate));
  const ready = Math.min(progress.ready, progress.wanted);
  // Serving: every task it wants runs its image, whether or not Swarm still watches them.
  return { healthy: progress.converged, ready, total: progress.wanted, ...(progress.converged ? {} : { message: progress.message }) };
}

/** How long Swarm watches an updated task for a failure (UpdateConfig.Monitor; Swarm's default 5 s), in ms. */
const monitorOf = (service: Service) => (service.Spec.UpdateConfig?.Monitor ?? 5_000_000_000) / 1_000_000;

const removed = (name: string, image: string) => new ProviderError(`swarm target: service ${name} was removed while rollgate waited for it to run ${image}`);
