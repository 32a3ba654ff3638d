import { ProviderError } from '../../errors.js';
import type { ProviderDeps } from '../../ports/provider-deps.js';
import type { StepContext } from '../../ports/step-context.js';
import type { CandidateTarget, ReplicaSplit } from '../../ports/target.js';
import type { DockerClient } from '../../swarm/client.js';
import { imageOfTemplate, replicasOf, type ServiceSpec } from '../../swarm/types.js';
import { awaitGone, awaitSettled, healthOf, type Limits } from './rollout.js';
import { type Kept, readSpecFile, toKeep, versionOf, writeService } from './services.js';

/*
 * The candidates capability of the swarm target: a second service (SERVICE-candidate) runs the new
 * version beside the stable one, made from the stable service's spec with the candidate's labels
 * on the service and its containers. It publishes no ports: a published port belongs to one
 * service only, so the stable service keeps its own. Without a traffic router the share of
 * traffic is approximated by the two services' replica counts, which holds where requests are
 * spread over tasks (an external load balancer over host-mode tasks, DNS round robin); the run log
 * says so at each split. Promoting sets the stable service's image to the candidate's and removes
 * the candidate.
 */

/** What the target shares with its candidates. */
export interface TargetParts {
  client(ctx: StepContext): DockerClient;
  kept(): Kept;
  keep(more: Kept): Promise<void>;
  limits: Limits;
  withVersion(spec: ServiceSpec, version: string): ServiceSpec;
  object(name?: string): string;
}

/** The part of the target's config the candidates read. */
export interface CandidateConfig {
  service: string;
  spec?: string | undefined;
  candidate: { name?: string | undefined; labels: Record<string, string> };
}

export function swarmCandidates(config: CandidateConfig, deps: ProviderDeps, parts: TargetParts): CandidateTarget {
  const name = config.candidate.name ?? `${config.service}-candidate`;
  const labels = config.candidate.labels;

  /** The stable service's spec, or the spec file of a first deploy: what the candidate is made from. */
  async function base(api: DockerClient, ctx: StepContext): Promise<ServiceSpec> {
    const stable = await api.service(config.service, ctx.signal);
    if (stable) return stable.Spec;
    if (config.spec !== undefined) return readSpecFile(config.spec, deps.workDir, config.service);
    throw new ProviderError(`swarm target: service ${config.service} does not exist, so there is nothing to run a candidate beside; create it first, or give the target a spec`);
  }

  /** The candidate service made from `from`: its name and labels, `version`, `replicas`, no published ports. */
  function candidateOf(from: ServiceSpec, version: string, replicas: number): ServiceSpec {
    const spec = parts.withVersion(from, version);
    const container = spec.TaskTemplate?.ContainerSpec ?? {};
    return {
      ...spec,
      Name: name,
      Labels: { ...spec.Labels, ...labels, 'rollgate.io/candidate-of': config.service },
      TaskTemplate: { ...spec.TaskTemplate, ContainerSpec: { ...container, Labels: { ...container.Labels, ...labels } } },
      Mode: { Replicated: { Replicas: replicas } },
      ...(spec.EndpointSpec ? { EndpointSpec: { ...spec.EndpointSpec, Ports: [] } } : {}),
    };
  }

  /** Sets a service's replicas (conflicts retried) and reports it; `false` when it does not exist. */
  async function setReplicas(api: DockerClient, service: string, replicas: number, ctx: StepContext): Promise<boolean> {
    const written = await writeService(api, service, (s) => (replicasOf(s) === replicas ? undefined : { ...s, Mode: { Replicated: { Replicas: replicas } } }), ctx);
    if (!written) return false;
    if (written.changed) ctx.recordChange({ object: parts.object(service), field: 'replicas', before: replicasOf(written.before.Spec) ?? 'global', after: replicas });
    return true;
  }

  /**
   * The replicas to give the stable service back, from `now`: those it had before a split, while
   * it still has the count rollgate set; `undefined` when there is nothing to restore, or when
   * someone else scaled it meanwhile (their count stands, and the run log says so).
   */
  function restoreTo(now: number | undefined, ctx: StepContext): number | undefined {
    const { stableReplicas: before, stableSet: set } = parts.kept();
    if (before === undefined || now === undefined || now === before) return undefined;
    if (set !== undefined && now !== set) {
      ctx.log.warn(`swarm: service ${config.service} has ${now} replicas, not the ${set} rollgate set: someone scaled it meanwhile, so its count stands (it had ${before} before the canary)`);
      return undefined;
    }
    return before;
  }

  /** Waits until `service` runs its own image everywhere. */
  async function settle(api: DockerClient, service: string, ctx: StepContext): Promise<void> {
    const found = await api.service(service, ctx.signal);
    if (found) await awaitSettled(api, service, imageOfTemplate(found.Spec.TaskTemplate), parts.limits, ctx);
  }

  return {
    async fullScale(ctx) {
      const api = parts.client(ctx);
      const replicas = parts.kept().stableReplicas ?? replicasOf(await base(api, ctx));
      return Math.max(1, replicas ?? 1);
    },

    async deployCandidate(version, replicas, ctx) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const api = parts.client(ctx);
      const from = await base(api, ctx);
      const desired = candidateOf(from, version, replicas);
      const image = imageOfTemplate(desired.TaskTemplate);
      if ((from.EndpointSpec?.Ports ?? []).length > 0) ctx.log.info(`swarm: candidate service ${name} publishes no ports: those of service ${config.service} stay with it`);
      const existing = await api.service(name, ctx.signal);
      if (!existing) {
        await api.createService(desired, ctx.signal);
        ctx.recordChange({ object: parts.object(name), field: 'created', before: null, after: image });
      } else {
        const written = await writeService(api, name, (s) => ({ ...s, Labels: desired.Labels, TaskTemplate: desired.TaskTemplate, Mode: desired.Mode }), ctx);
        if (written?.changed) ctx.recordChange({ object: parts.object(name), field: 'image', before: imageOfTemplate(written.before.Spec.TaskTemplate), after: image });
      }
      await awaitSettled(api, name, image, parts.limits, ctx);
    },

    async scale(split: ReplicaSplit, ctx) {
      const api = parts.client(ctx);
      const total = split.stable + split.candidate;
      const share = total === 0 ? 0 : Math.round((split.candidate / total) * 1000) / 10;
      ctx.log.info(`swarm: no traffic router: the candidate's share of traffic is approximated by replicas, ${split.candidate} of ${name} beside ${split.stable} of ${config.service} (${share}%)`);
      const stable = await api.service(config.service, ctx.signal);
      if (stable && replicasOf(stable.Spec) === undefined) {
        ctx.log.warn(`swarm: service ${config.service} is global (one task per node): its replicas are left as they are, only ${name} is scaled to ${split.candidate}`);
      } else if (stable && replicasOf(stable.Spec) !== split.stable) {
        await parts.keep({ stableReplicas: parts.kept().stableReplicas ?? (replicasOf(stable.Spec) as number), stableSet: split.stable });
        await setReplicas(api, config.service, split.stable, ctx);
      }
      const scaled = await setReplicas(api, name, split.candidate, ctx);
      if (!scaled && split.candidate > 0) throw new ProviderError(`swarm target: candidate service ${name} does not exist; start it before scaling it`);
      await settle(api, config.service, ctx);
      await settle(api, name, ctx);
    },

    async candidateHealth(ctx) {
      return healthOf(parts.client(ctx), name, ctx);
    },

    async promote(ctx) {
      const api = parts.client(ctx);
      const candidate = await api.service(name, ctx.signal);
      // Promoted already: the candidate is gone once the stable service runs its version.
      if (!candidate) return;
      const image = imageOfTemplate(candidate.Spec.TaskTemplate);
      const version = versionOf(image);
      const stable = await api.service(config.service, ctx.signal);
      if (!stable) {
        // A first deploy: the stable service is made from the spec file, running the candidate's image.
        const body = parts.withVersion(await base(api, ctx), version);
        await parts.keep({ created: true });
        await api.createService(body, ctx.signal);
        ctx.recordChange({ object: parts.object(), field: 'created', before: null, after: imageOfTemplate(body.TaskTemplate) });
      } else {
        const running = stable.Spec;
        const more = toKeep(parts.kept(), running, parts.withVersion(running, version));
        if (more) await parts.keep(more);
        const written = await writeService(
          api,
          config.service,
          (s) => {
            const restore = restoreTo(replicasOf(s), ctx);
            return { ...parts.withVersion(s, version), ...(restore !== undefined ? { Mode: { Replicated: { Replicas: restore } } } : {}) };
          },
          ctx,
        );
        if (written?.changed) ctx.recordChange({ object: parts.object(), field: 'image', before: imageOfTemplate(running.TaskTemplate), after: imageOfTemplate(written.after.TaskTemplate) });
      }
      await settle(api, config.service, ctx);
      // Not waited for until its tasks end, as removeCandidate does: they run the version the stable service now runs.
      if (await api.removeService(name, ctx.signal)) ctx.recordChange({ object: parts.object(name), field: 'created', before: image, after: null });
    },

    async removeCandidate(ctx) {
      const api = parts.client(ctx);
      const candidate = await api.service(name, ctx.signal);
      if (candidate && (await api.removeService(name, ctx.signal))) {
        ctx.recordChange({ object: parts.object(name), field: 'created', before: imageOfTemplate(candidate.Spec.TaskTemplate), after: null });
        await awaitGone(api, candidate.ID, name, parts.limits, ctx);
      }
      const stable = await api.service(config.service, ctx.signal);
      const restore = stable ? restoreTo(replicasOf(stable.Spec), ctx) : undefined;
      if (restore !== undefined && (await setReplicas(api, config.service, restore, ctx))) await settle(api, config.service, ctx);
    },
  };
}
