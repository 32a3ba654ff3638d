import { z } from 'zod';
import { duration } from '../config/fields.js';
import { ProviderError } from '../errors.js';
import type { DeployedState } from '../model/results.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import type { Target } from '../ports/target.js';
import { dockerClient } from '../swarm/endpoint.js';
import { imageOfTemplate, replicasOf, type ServiceSpec, type UpdateConfig } from '../swarm/types.js';
import { swarmCandidates } from './swarm/candidates.js';
import { awaitGone, awaitSettled, healthOf } from './swarm/rollout.js';
import { imageOf, type Kept, readSpecFile, reverted, toKeep, versionOf, writeService } from './swarm/services.js';

export const type = 'swarm';

/** A second service runs the candidate (canary, blue-green's green). */
export const capabilities = ['candidates'] as const;

const serviceName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'expected a Swarm service name (letters, digits, _, . and -; at most 63)');
const NS = 1_000_000;

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    service: serviceName.describe('Name of the Swarm service whose image rollgate sets (a stack\'s service is STACK_SERVICE)'),
    image: z
      .string()
      .min(1)
      .optional()
      .describe("The image repository; a version becomes its tag (`ghcr.io/acme/web` + `1.4.2`), or its digest when it starts with sha256:. Default: the service's current repository. A version holding / or : is a whole image reference"),
    spec: z
      .string()
      .min(1)
      .optional()
      .describe("A service spec (YAML or JSON: the Engine API's ServiceSpec, as `docker service inspect --format '{{json .Spec}}'` prints it; relative to the workflow file) created on a first deploy when the service does not exist; a rollback of that deploy removes it"),
    update: z
      .strictObject({
        parallelism: z.number().int().min(0).optional().describe('Tasks updated at once (0: all at once)'),
        delay: duration('Time between two batches of tasks').optional(),
        failureAction: z
          .enum(['pause', 'continue', 'rollback'])
          .optional()
          .describe('What Swarm does when updated tasks fail: pause (rollgate then fails the deploy and puts the previous spec back), rollback (Swarm does it; rollgate reports it), continue'),
        monitor: duration('How long Swarm watches each updated task for a failure').optional(),
        maxFailureRatio: z.number().min(0).max(1).optional().describe('Share of updated tasks that may fail before failureAction applies'),
        order: z.enum(['stop-first', 'start-first']).optional().describe('Stop an old task before its replacement starts, or start the new one first (needs room for both)'),
      })
      .prefault({})
      .describe("How Swarm rolls a new image out, set as the service's UpdateConfig with the image; a field left out keeps the service's own setting (Swarm's defaults: 1 at a time, no delay, pause, 5s, 0, stop-first)"),
    candidate: z
      .strictObject({
        name: serviceName.optional().describe('Name of the candidate service (default: SERVICE-candidate)'),
        labels: z
          .record(z.string().min(1), z.string())
          .default({ 'rollgate.io/track': 'candidate' })
          .describe("Labels added to the candidate service and its containers, so routers and dashboards can tell it from the stable one"),
      })
      .prefault({})
      .describe("The second service that runs a canary or the green copy beside the stable one, made from the stable service's spec (without its published ports, which only one service can hold)"),
    interval: duration('How often the service and its tasks are read while rollgate waits (two requests each time; the Docker CLI reads every 200ms)').prefault('250ms'),
    timeout: duration("How long an update may take before rollgate gives up on it (Swarm's own failureAction ends a failing one sooner)").prefault('10m'),
  })
  .describe("A Docker Swarm service: deploy sets its image (with the UpdateConfig given) and waits until every task runs it; revert puts the previous image (and UpdateConfig) back");
export type SwarmTargetConfig = z.output<typeof configSchema>;
type Config = SwarmTargetConfig;

/** The config's update settings as the API's UpdateConfig fields (durations in nanoseconds). */
export function updateConfigOf(update: Config['update']): UpdateConfig {
  const fields: UpdateConfig = {
    Parallelism: update.parallelism,
    Delay: update.delay === undefined ? undefined : update.delay * NS,
    FailureAction: update.failureAction,
    Monitor: update.monitor === undefined ? undefined : update.monitor * NS,
    MaxFailureRatio: update.maxFailureRatio,
    Order: update.order,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

export function create(config: Config, deps: ProviderDeps): Target {
  const client = dockerClient(deps);
  const kept = () => (deps.state.get() as Kept | undefined) ?? {};
  const keep = (more: Kept) => deps.state.put({ ...kept(), ...more } satisfies Kept);
  const limits = { intervalMs: config.interval, timeoutMs: config.timeout };
  const updates = updateConfigOf(config.update);
  const object = (name = config.service) => `service/${name}`;

  /** `spec` running `version`, with the configured UpdateConfig: what a deploy writes. */
  function withVersion(spec: ServiceSpec, version: string): ServiceSpec {
    const next = structuredClone(spec);
    const current = imageOfTemplate(next.TaskTemplate);
    const image = versionOf(current) === version && config.image === undefined ? current : imageOf(version, current, config.image);
    next.TaskTemplate = { ...next.TaskTemplate, ContainerSpec: { ...next.TaskTemplate?.ContainerSpec, Image: image } };
    if (Object.keys(updates).length > 0) next.UpdateConfig = { ...next.UpdateConfig, ...updates };
    return next;
  }

  function cancelledCheck(ctx: StepContext, what: string): void {
    if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new ProviderError(`swarm target: ${what} was cancelled`);
  }

  /** Writes the spec `edit` makes (at the index read, conflicts retried), reports it and waits until the service settles. */
  async function setSpec(edit: (spec: ServiceSpec) => ServiceSpec, ctx: StepContext): Promise<void> {
    const api = client(ctx);
    const written = await writeService(api, config.service, edit, ctx);
    if (!written) throw new ProviderError(`swarm target: service ${config.service} does not exist; it was removed after rollgate last saw it, so there is nothing to change`);
    const image = imageOfTemplate(written.after.TaskTemplate);
    if (written.changed) ctx.recordChange({ object: object(), field: 'image', before: imageOfTemplate(written.before.Spec.TaskTemplate), after: image });
    await awaitSettled(api, config.service, image, limits, ctx);
  }

  const target: Target = {
    type,
    async current(ctx) {
      cancelledCheck(ctx, 'current');
      const service = await client(ctx).service(config.service, ctx.signal);
      if (!service) return undefined;
      const image = imageOfTemplate(service.Spec.TaskTemplate);
      return { version: versionOf(image), details: { image, service: config.service, replicas: replicasOf(service.Spec) ?? 'global' } };
    },

    async deploy(version, ctx) {
      cancelledCheck(ctx, 'deploy');
      const api = client(ctx);
      const found = await api.service(config.service, ctx.signal);
      if (!found) {
        if (config.spec === undefined) {
          throw new ProviderError(
            `swarm target: service ${config.service} does not exist on the swarm at ${api.endpoint.label}; create it first (docker service create / docker stack deploy), or give the target a spec to create it from on a first deploy`,
          );
        }
        const body = withVersion(await readSpecFile(config.spec, deps.workDir, config.service), version);
        // Kept before the change: a rollback from any later process removes what this created.
        await keep({ created: true });
        await api.createService(body, ctx.signal);
        ctx.recordChange({ object: object(), field: 'created', before: null, after: imageOfTemplate(body.TaskTemplate) });
        await awaitSettled(api, config.service, imageOfTemplate(body.TaskTemplate), limits, ctx);
        return;
      }
      const more = toKeep(kept(), found.Spec, withVersion(found.Spec, version));
      if (more) await keep(more);
      await setSpec((spec) => withVersion(spec, version), ctx);
    },

    async health(ctx) {
      cancelledCheck(ctx, 'health');
      return healthOf(client(ctx), config.service, ctx);
    },

    async revert(previous: DeployedState | undefined, ctx) {
      cancelledCheck(ctx, 'revert');
      const api = client(ctx);
      if (previous === undefined) {
        // Nothing ran before: remove the service only when rollgate created it.
        if (!kept().created) return;
        const service = await api.service(config.service, ctx.signal);
        if (!service) return;
        await api.removeService(config.service, ctx.signal);
        ctx.recordChange({ object: object(), field: 'created', before: imageOfTemplate(service.Spec.TaskTemplate), after: null });
        await awaitGone(api, service.ID, config.service, limits, ctx);
        return;
      }
      await setSpec((spec) => {
        const image = kept().images?.[previous.version] ?? imageOf(previous.version, imageOfTemplate(spec.TaskTemplate), config.image);
        return reverted(spec, image, kept(), config.service);
      }, ctx);
    },
  };
  return Object.assign(target, { candidates: swarmCandidates(config, deps, { client, keep, kept, limits, withVersion, object }) });
}
