import { ProviderError } from '../../errors.js';
import type { DeployedState, HealthReport } from '../../model/results.js';
import type { ProviderDeps } from '../../ports/provider-deps.js';
import type { StepContext } from '../../ports/step-context.js';
import type { ContainerDefinition, EcsApi, Service, TaskDefinition } from './api.js';
import { imageFor, repositoryOf, shortArn, versionOfImage } from './images.js';
import { readManifest } from './manifest.js';
import { awaitDeployment, healthOf, type Limits } from './rollout.js';

/*
 * The ecs target on its stable service: a deploy registers a revision of the service's task
 * definition with the version's image in one container (everything else copied), points the
 * service at it and waits for the deployment's verdict; a revert points the service back at the
 * task definition it ran before — only over a task definition rollgate set, never over someone
 * else's deploy. Every change is kept in the journal before it is made.
 */

/** What the ecs target keeps in the journal, before each change it may have to undo. */
export interface Kept {
  /** rollgate created the service (a first deploy from the manifest): undoing it deletes it. */
  created?: boolean;
  /** The task definition each version ran as before rollgate changed the service: what a revert to it puts back. */
  ran?: Record<string, string>;
  /** Every task definition rollgate set on the service: a revert undoes only those. */
  wrote?: string[];
  /** The revision rollgate registered for each image: used again by a retry or a resumed run. */
  registered?: Record<string, string>;
  /** The stable service's desired count before a candidate split changed it, and the last count rollgate set. */
  stableCount?: number;
  stableSet?: number;
  /** rollgate created the candidate service (kept before CreateService): only then does it change or delete it. */
  candidateCreated?: boolean;
  /** The candidate's task definition (what promote puts on the stable service). */
  candidate?: string;
}

export interface EcsConfig {
  cluster: string;
  service: string;
  container?: string | undefined;
  image?: string | undefined;
  manifest?: string | undefined;
  candidateService?: string | undefined;
  candidateTargetGroupArn?: string | undefined;
}

/** What the stable service and its candidate share. */
export interface Parts {
  api: EcsApi;
  config: EcsConfig;
  limits: Limits;
  deps: ProviderDeps;
  kept(): Kept;
  keep(more: Kept): Promise<void>;
  /** The object a change names: `ecs-service/prod/web`. */
  object(name: string): string;
  /** The container rollgate sets the image of in `def`. */
  containerOf(def: { containerDefinitions?: ContainerDefinition[] | undefined }, what: string): ContainerDefinition;
  /** The image `version` means in `def`'s container. */
  imageOf(def: { containerDefinitions?: ContainerDefinition[] | undefined }, version: string, what: string): string;
  /** A revision of `def` with `image` in the container: registered now, or the one rollgate registered before. */
  revisionFor(def: Partial<TaskDefinition>, tags: { key?: string; value?: string }[], image: string, ctx: StepContext): Promise<string>;
  /** The stable service (undefined when missing) and the task definition a candidate is made from (its own, or the manifest's). */
  base(ctx: StepContext): Promise<{ service: Service | undefined; def: Partial<TaskDefinition>; tags: { key?: string; value?: string }[]; fromManifest?: Awaited<ReturnType<typeof readManifest>> }>;
}

export function ecsParts(api: EcsApi, config: EcsConfig, limits: Limits, deps: ProviderDeps): Parts {
  const kept = () => (deps.state.get() as Kept | undefined) ?? {};
  const keep = (more: Kept) => deps.state.put({ ...kept(), ...more } satisfies Kept);
  const containerOf: Parts['containerOf'] = (def, what) => {
    const containers = def.containerDefinitions ?? [];
    const found = config.container === undefined ? containers[0] : containers.find((c) => c.name === config.container);
    if (!found) {
      throw new ProviderError(
        config.container === undefined
          ? `ecs target: ${what} has no container`
          : `ecs target: ${what} has no container '${config.container}' (its containers: ${containers.map((c) => c.name).join(', ') || 'none'}); correct the target's container`,
      );
    }
    return found;
  };
  const parts: Parts = {
    api,
    config,
    limits,
    deps,
    kept,
    keep,
    object: (name) => `ecs-service/${config.cluster}/${name}`,
    containerOf,
    imageOf: (def, version, what) => imageFor(version, config.image ?? repositoryOf(containerOf(def, what).image ?? '')),
    async revisionFor(def, tags, image, ctx) {
      const known = kept().registered?.[image];
      if (known) return known;
      const what = `task definition ${def.family ?? '?'}`;
      const name = containerOf(def, what).name;
      const containers = (def.containerDefinitions ?? []).map((c) => (c.name === name ? { ...c, image } : c));
      const arn = await api.register(def as TaskDefinition, tags, containers, ctx);
      ctx.log.info(`ecs: registered task definition ${shortArn(arn)} (${image})`);
      await keep({ registered: { ...kept().registered, [image]: arn } });
      return arn;
    },
    async base(ctx) {
      const service = await api.service(config.service, ctx);
      const controller = service?.deploymentController?.type;
      if (controller !== undefined && controller !== 'ECS') {
        throw new ProviderError(
          `ecs target: service ${config.cluster}/${config.service} uses the ${controller} deployment controller, whose deployments ECS does not take through UpdateService; rollgate deploys services with the ECS (rolling update) controller: deploy this one with ${controller === 'CODE_DEPLOY' ? 'CodeDeploy' : 'its own controller'}, or recreate it with deploymentController ECS`,
          { nothingChanged: true },
        );
      }
      if (service) return { service, ...(await api.taskDefinition(service.taskDefinition as string, ctx)) };
      if (config.manifest === undefined) {
        throw new ProviderError(
          `ecs target: service ${config.cluster}/${config.service} does not exist (or was deleted); create it first (aws ecs create-service), or give the target a manifest to create it from on a first deploy`,
        );
      }
      const manifest = await readManifest(config.manifest, deps.workDir);
      return { service: undefined, def: manifest.taskDefinition as Partial<TaskDefinition>, tags: manifest.taskDefinition.tags ?? [], fromManifest: manifest };
    },
  };
  return parts;
}

export function stableService(parts: Parts) {
  const { api, config, limits, kept, keep } = parts;
  const name = config.service;
  const what = `service ${config.cluster}/${name}`;

  /** Points the service at `arn`, reports it, and waits for the deployment's verdict. */
  async function point(from: Service, arn: string, ctx: StepContext, extra: { desiredCount?: number } = {}): Promise<void> {
    const count = extra.desiredCount !== undefined && extra.desiredCount !== from.desiredCount ? { desiredCount: extra.desiredCount } : {};
    if (from.taskDefinition !== arn || count.desiredCount !== undefined) {
      await api.update({ service: name, ...(from.taskDefinition !== arn ? { taskDefinition: arn } : {}), ...count }, ctx);
      if (from.taskDefinition !== arn) ctx.recordChange({ object: parts.object(name), field: 'taskDefinition', before: shortArn(from.taskDefinition), after: shortArn(arn) });
      if (count.desiredCount !== undefined) ctx.recordChange({ object: parts.object(name), field: 'desiredCount', before: from.desiredCount ?? 0, after: count.desiredCount });
    }
    await awaitDeployment(api, name, arn, limits, ctx, count.desiredCount !== undefined);
  }

  /** Keeps, before rollgate points the service at `arn`, what the version running now ran as. */
  async function remember(running: Service, runningVersion: string, arn: string): Promise<void> {
    const ran = kept().ran ?? {};
    const wrote = kept().wrote ?? [];
    if (ran[runningVersion] !== undefined && wrote.includes(arn)) return;
    await keep({ ran: { [runningVersion]: running.taskDefinition as string, ...ran }, wrote: wrote.includes(arn) ? wrote : [...wrote, arn] });
  }

  return {
    name,
    what,
    point,
    remember,

    async current(ctx: StepContext): Promise<DeployedState | undefined> {
      const s = await api.service(name, ctx);
      if (!s) return undefined;
      const { def } = await api.taskDefinition(s.taskDefinition as string, ctx);
      const image = parts.containerOf(def, `task definition ${shortArn(s.taskDefinition)}`).image ?? '';
      return { version: versionOfImage(image), details: { image, cluster: config.cluster, service: name, taskDefinition: s.taskDefinition ?? null, desiredCount: s.desiredCount ?? 0 } };
    },

    async deploy(version: string, ctx: StepContext): Promise<void> {
      const { service, def, tags, fromManifest } = await parts.base(ctx);
      const image = parts.imageOf(def, version, fromManifest ? `the manifest ${config.manifest}` : `task definition ${shortArn(service?.taskDefinition)}`);
      if (!service) {
        const arn = await parts.revisionFor(def, tags, image, ctx);
        // Kept before the change: a rollback from any later process deletes what this creates.
        await keep({ created: true, wrote: [...(kept().wrote ?? []), arn] });
        await api.create({ ...fromManifest?.service, serviceName: name, taskDefinition: arn }, ctx);
        ctx.recordChange({ object: parts.object(name), field: 'created', before: null, after: shortArn(arn) });
        await awaitDeployment(api, name, arn, limits, ctx);
        return;
      }
      const running = parts.containerOf(def, `task definition ${shortArn(service.taskDefinition)}`).image ?? '';
      if (running === image) {
        // Already this version (a retry, a resumed run): wait for its deployment, change nothing.
        await awaitDeployment(api, name, service.taskDefinition as string, limits, ctx);
        return;
      }
      const arn = await parts.revisionFor(def, tags, image, ctx);
      await remember(service, versionOfImage(running), arn);
      await point(service, arn, ctx);
    },

    async health(ctx: StepContext): Promise<HealthReport> {
      return healthOf(await api.service(name, ctx), what);
    },

    async revert(previous: DeployedState | undefined, ctx: StepContext): Promise<void> {
      const s = await api.service(name, ctx);
      if (previous === undefined) {
        // Nothing ran before: remove the service only when rollgate created it.
        if (!kept().created || !s) return;
        await api.remove(name, ctx);
        ctx.recordChange({ object: parts.object(name), field: 'created', before: shortArn(s.taskDefinition), after: null });
        return;
      }
      if (!s) throw new ProviderError(`ecs target: ${what} does not exist, so rollgate cannot put ${previous.version} back; create it again (aws ecs create-service) or deploy it`);
      const recorded = previous.details?.taskDefinition;
      let arn = typeof recorded === 'string' ? recorded : kept().ran?.[previous.version];
      const live = s.taskDefinition as string;
      // Only what rollgate set is undone: a task definition someone else deployed since stays, and a person decides.
      if (live !== arn && !(kept().wrote ?? []).includes(live)) {
        throw new ProviderError(
          `ecs target: ${what} runs task definition ${shortArn(live)}, which rollgate did not set (it set ${(kept().wrote ?? []).map(shortArn).join(', ') || 'nothing'}): someone else deployed it since, so rollgate does not put ${arn ? shortArn(arn) : previous.version} back over it; check it, and revert by hand (aws ecs update-service --cluster ${config.cluster} --service ${name} --task-definition …) if it should go`,
        );
      }
      if (arn === undefined) {
        const { def, tags } = await api.taskDefinition(live, ctx);
        arn = await parts.revisionFor(def, tags, parts.imageOf(def, previous.version, `task definition ${shortArn(live)}`), ctx);
      }
      await point(s, arn, ctx);
    },
  };
}
