import type { CandidateTarget, ReplicaSplit } from '../../ports/target.js';
import type { StepContext } from '../../ports/step-context.js';
import type { Service } from './api.js';
import { ProviderError } from '../../errors.js';
import { shortArn, versionOfImage } from './images.js';
import { awaitDeployment, awaitDrained, healthOf } from './rollout.js';
import type { Parts, stableService } from './service.js';

/*
 * The candidates capability of the ecs target: a second service (SERVICE-candidate) runs the new
 * task definition beside the stable one, created from the stable service's own settings (launch
 * type, network, deployment configuration). Behind a router it registers its tasks in the
 * candidate target group (`candidateTargetGroupArn`), and the alb router weighs the two groups;
 * without one it shares the stable service's target groups, so the traffic each version takes
 * follows its share of the tasks, which `scale` sets. Promoting points the stable service at the
 * candidate's task definition; the candidate service is deleted once traffic has left it.
 */

export function ecsCandidates(parts: Parts, stable: ReturnType<typeof stableService>): CandidateTarget {
  const { api, config, limits, kept, keep } = parts;
  const name = config.candidateService ?? `${config.service}-candidate`;
  const what = `candidate service ${config.cluster}/${name}`;

  /** Sets a service's desired count, reports it and waits for it to settle. */
  async function setCount(s: Service, count: number, ctx: StepContext): Promise<void> {
    const service = s.serviceName as string;
    if (s.desiredCount !== count) {
      await api.update({ service, desiredCount: count }, ctx);
      ctx.recordChange({ object: parts.object(service), field: 'desiredCount', before: s.desiredCount ?? 0, after: count });
    }
    await awaitDeployment(api, service, s.taskDefinition as string, limits, ctx, true);
  }

  /** The target groups the candidate registers in: the candidate's group in place of the stable one's, else the same. */
  function loadBalancersOf(stable: { loadBalancers?: Service['loadBalancers'] } | undefined) {
    const lbs = stable?.loadBalancers ?? [];
    if (config.candidateTargetGroupArn === undefined) return lbs;
    const first = lbs[0];
    // ECS needs the container and port a target group's targets are: they come from the stable service's load balancer.
    if (!first?.containerName || first.containerPort === undefined) {
      throw new ProviderError(
        `ecs target: candidateTargetGroupArn is set, but service ${config.cluster}/${config.service} has no load balancer (no target group, container and port) for the candidate to copy, so rollgate cannot register the candidate's tasks in ${config.candidateTargetGroupArn}; put the stable service behind its target group first, or remove candidateTargetGroupArn`,
        { nothingChanged: true },
      );
    }
    return [{ ...first, targetGroupArn: config.candidateTargetGroupArn }, ...lbs.slice(1).filter((l) => l.targetGroupArn !== config.candidateTargetGroupArn)];
  }

  /** The settings of the stable service the candidate is created with: refused when one cannot be copied. */
  function copyOf(service: Service) {
    const from = api.copyOf(service);
    const published = (from.serviceConnectConfiguration?.services ?? []).map((s) => s.discoveryName ?? s.portName);
    if (published.length > 0) {
      throw new ProviderError(
        `ecs target: service ${config.cluster}/${config.service} publishes Service Connect endpoints (${published.join(', ')}) in namespace ${from.serviceConnectConfiguration?.namespace ?? '?'}, and a second service cannot publish the same names there, so rollgate cannot copy its Service Connect configuration to ${what}; deploy this service without a candidate (a direct deploy), or move the endpoints to a service that does not take candidates`,
        { nothingChanged: true },
      );
    }
    return from;
  }

  /** Deletes the candidate service when it exists and rollgate created it, and reports it. */
  async function remove(ctx: StepContext): Promise<void> {
    if (!kept().candidateCreated) return;
    const c = await api.service(name, ctx);
    if (c) {
      await api.remove(name, ctx);
      ctx.recordChange({ object: parts.object(name), field: 'created', before: shortArn(c.taskDefinition), after: null });
    }
    await keep({ candidateCreated: undefined });
  }

  return {
    async fullScale(ctx) {
      const { service, fromManifest } = await parts.base(ctx);
      return kept().stableCount ?? service?.desiredCount ?? fromManifest?.service.desiredCount ?? 1;
    },

    async deployCandidate(version, replicas, ctx) {
      const { service, def, tags, fromManifest } = await parts.base(ctx);
      const lbs = loadBalancersOf(service ?? fromManifest?.service);
      const existing = await api.service(name, ctx);
      // A service of that name rollgate did not create (in this run) is someone else's: never taken over, never deleted.
      if (existing && !kept().candidateCreated) {
        throw new ProviderError(
          `ecs target: ${what} already exists and rollgate did not create it, so rollgate does not take it over (nor delete it afterwards); delete it if it is a leftover of an earlier run (aws ecs delete-service --cluster ${config.cluster} --service ${name} --force), or set the target's candidateService to a name no service has`,
          { nothingChanged: true },
        );
      }
      const from = existing ? undefined : service ? copyOf(service) : fromManifest?.service;
      const image = parts.imageOf(def, version, fromManifest ? `the manifest ${config.manifest}` : `task definition ${shortArn(service?.taskDefinition)}`);
      const arn = await parts.revisionFor(def, tags, image, ctx);
      if (kept().candidate !== arn) await keep({ candidate: arn });
      if (!existing) {
        await awaitDrained(api, name, limits, ctx);
        // Kept before the change: a retry or a resumed run knows the service is rollgate's, and removeCandidate deletes it.
        if (!kept().candidateCreated) await keep({ candidateCreated: true });
        await api.create({ ...from, loadBalancers: lbs, serviceName: name, taskDefinition: arn, desiredCount: replicas }, ctx);
        ctx.recordChange({ object: parts.object(name), field: 'created', before: null, after: shortArn(arn) });
        await awaitDeployment(api, name, arn, limits, ctx, true);
        return;
      }
      const changes = { ...(existing.taskDefinition !== arn ? { taskDefinition: arn } : {}), ...(existing.desiredCount !== replicas ? { desiredCount: replicas } : {}) };
      if (Object.keys(changes).length > 0) {
        await api.update({ service: name, ...changes }, ctx);
        if (changes.taskDefinition) ctx.recordChange({ object: parts.object(name), field: 'taskDefinition', before: shortArn(existing.taskDefinition), after: shortArn(arn) });
        if (changes.desiredCount !== undefined) ctx.recordChange({ object: parts.object(name), field: 'desiredCount', before: existing.desiredCount ?? 0, after: replicas });
      }
      await awaitDeployment(api, name, arn, limits, ctx, true);
    },

    async scale(split: ReplicaSplit, ctx) {
      const s = await api.service(config.service, ctx);
      if (s) {
        const set = kept().stableSet;
        // The count found first is what removeCandidate puts back; a count rollgate did not set is someone else's.
        if (kept().stableCount === undefined || (set !== undefined && s.desiredCount !== set)) await keep({ stableCount: s.desiredCount ?? 0 });
        if (kept().stableSet !== split.stable) await keep({ stableSet: split.stable });
        await setCount(s, split.stable, ctx);
      }
      const c = kept().candidateCreated ? await api.service(name, ctx) : undefined;
      if (c) await setCount(c, split.candidate, ctx);
    },

    async candidateHealth(ctx) {
      return healthOf(await api.service(name, ctx), what);
    },

    async promote(ctx) {
      const arn = kept().candidate;
      const s = await api.service(config.service, ctx);
      if (!arn) throw new ProviderError(`ecs target: there is no candidate to promote: no candidate task definition was kept for ${what} (deployCandidate never ran in this run)`);
      if (!s) {
        // A first deploy through a candidate: the manifest's service, at its count, runs the candidate's task definition.
        const { fromManifest } = await parts.base(ctx);
        const full = kept().stableCount ?? fromManifest?.service.desiredCount ?? 1;
        await keep({ created: true, wrote: [...(kept().wrote ?? []), arn] });
        await api.create({ ...fromManifest?.service, serviceName: config.service, taskDefinition: arn, desiredCount: full }, ctx);
        ctx.recordChange({ object: parts.object(config.service), field: 'created', before: null, after: shortArn(arn) });
        await awaitDeployment(api, config.service, arn, limits, ctx, true);
        return;
      }
      const full = kept().stableCount ?? s.desiredCount ?? 1;
      if (s.taskDefinition !== arn) {
        const { def } = await api.taskDefinition(s.taskDefinition as string, ctx);
        const running = parts.containerOf(def, `task definition ${shortArn(s.taskDefinition)}`).image ?? '';
        await stable.remember(s, versionOfImage(running), arn);
      }
      await stable.point(s, arn, ctx, { desiredCount: full });
    },

    async retirePromoted(ctx) {
      await remove(ctx);
      if (kept().stableCount !== undefined) await keep({ stableCount: undefined, stableSet: undefined });
    },

    async removeCandidate(ctx) {
      await remove(ctx);
      const { stableCount, stableSet } = kept();
      if (stableCount === undefined) return;
      const s = await api.service(config.service, ctx);
      if (s && s.desiredCount !== stableCount) {
        if (stableSet !== undefined && s.desiredCount !== stableSet) {
          ctx.log.warn(`ecs target: service ${config.cluster}/${config.service} runs ${s.desiredCount} tasks, not the ${stableSet} rollgate set: someone else scaled it, so rollgate leaves its count`);
        } else await setCount(s, stableCount, ctx);
      }
      await keep({ stableCount: undefined, stableSet: undefined });
    },
  };
}
