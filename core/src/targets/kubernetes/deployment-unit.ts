import { ProviderError } from '../../errors.js';
import { DEPLOYMENTS, KubeClient, type KubeObject } from '../../kubernetes/client.js';
import type { DeployedState, HealthReport } from '../../model/results.js';
import type { ProviderDeps } from '../../ports/provider-deps.js';
import type { StepContext } from '../../ports/step-context.js';
import type { CandidateTarget } from '../../ports/target.js';
import { imageFor, repositoryOf, versionOfImage } from '../../util/image-ref.js';
import { type CandidateConfig, kubernetesCandidates } from './candidates.js';
import {
  awaitRollout,
  containerOf,
  healthOf,
  type Kept,
  type PodTemplate,
  readManifest,
  templateOf,
  updateDeployment,
} from './deployments.js';

/*
 * The kubernetes target on one Deployment in one namespace: what the target does for its one
 * namespace, or for each of its `namespaces` (the units of a progressive rollout).
 */

/** The part of the target's config one Deployment needs. */
export interface UnitConfig extends CandidateConfig {
  container?: string | undefined;
  image?: string | undefined;
  interval: number;
  rolloutTimeout: number;
}

/** How a unit reaches the cluster and its own slice of the target's kept state. */
export interface UnitParts {
  client(ctx: StepContext): Promise<KubeClient>;
  /** The namespace of this unit; `undefined`: the config's, else the connection's. */
  namespace?: string;
  kept(): Kept;
  keep(more: Kept): Promise<void>;
}

/** One Deployment: the Target's operations and its candidates. */
export interface DeploymentUnit {
  current(ctx: StepContext): Promise<DeployedState | undefined>;
  deploy(version: string, ctx: StepContext): Promise<void>;
  health(ctx: StepContext): Promise<HealthReport>;
  revert(previous: DeployedState | undefined, ctx: StepContext): Promise<void>;
  candidates: CandidateTarget;
}

export function deploymentUnit(config: UnitConfig, deps: ProviderDeps, unit: UnitParts): DeploymentUnit {
  const { client, kept, keep } = unit;

  const where = async (ctx: StepContext) => {
    const api = await client(ctx);
    const namespace = unit.namespace ?? config.namespace ?? api.namespace;
    return { api, namespace, what: `Deployment ${namespace}/${config.deployment}` };
  };
  const limits = { intervalMs: config.interval, timeoutMs: config.rolloutTimeout };
  const imageOf = (template: PodTemplate, what: string) => containerOf(template, config.container, what).image ?? '';
  const object = (namespace: string, name = config.deployment) => `deployment/${namespace}/${name}`;

  /**
   * Kept before rollgate sets `image`: the image `version` ran as (what a revert to it puts back)
   * and every image rollgate set (a revert undoes only those).
   */
  async function remember(version: string, ran: string, image: string): Promise<void> {
    const images = kept().images ?? {};
    const wrote = kept().wrote ?? [];
    if (images[version] !== undefined && wrote.includes(image)) return;
    await keep({ images: { [version]: ran, ...images }, wrote: wrote.includes(image) ? wrote : [...wrote, image] });
  }

  /** The template with `image` in the container rollgate sets; nothing else changes. */
  function withImage(template: PodTemplate, image: string, what: string): PodTemplate {
    const next = structuredClone(template);
    containerOf(next, config.container, what).image = image;
    return next;
  }

  /** The template with `version`'s image in the container rollgate sets. */
  function withVersion(template: PodTemplate, version: string, what: string): PodTemplate {
    const next = structuredClone(template);
    const container = containerOf(next, config.container, what);
    container.image = imageFor(version, config.image ?? repositoryOf(container.image ?? ''));
    return next;
  }

  function cancelledCheck(ctx: StepContext, what: string): void {
    if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new ProviderError(`kubernetes target: ${what} was cancelled`);
  }

  /** Sets the pod template (with resourceVersion and conflict retries), reports it and waits for the rollout. */
  async function setTemplate(template: (d: KubeObject) => PodTemplate, ctx: StepContext): Promise<void> {
    const { api, namespace, what } = await where(ctx);
    const written = await updateDeployment(
      api,
      namespace,
      config.deployment,
      (d) => {
        const next = template(d);
        if (JSON.stringify(next) === JSON.stringify(templateOf(d))) return undefined;
        return { ...d, spec: { ...(d.spec as object), template: next } };
      },
      ctx,
    );
    if (!written) throw new ProviderError(`kubernetes target: ${what} does not exist`);
    if (written.after !== written.before) {
      ctx.recordChange({ object: object(namespace), field: 'image', before: imageOf(templateOf(written.before), what), after: imageOf(templateOf(written.after), what) });
    }
    await awaitRollout(api, namespace, config.deployment, limits, ctx);
  }

  const target = {
    async current(ctx: StepContext): Promise<DeployedState | undefined> {
      cancelledCheck(ctx, 'current');
      const { api, namespace, what } = await where(ctx);
      const d = await api.get(DEPLOYMENTS, namespace, config.deployment, ctx.signal);
      if (!d) return undefined;
      const image = imageOf(templateOf(d), what);
      return { version: versionOfImage(image), details: { image, namespace, deployment: config.deployment, replicas: (d.spec as { replicas?: number }).replicas ?? 1 } };
    },

    async deploy(version: string, ctx: StepContext): Promise<void> {
      cancelledCheck(ctx, 'deploy');
      const { api, namespace, what } = await where(ctx);
      const found = await api.get(DEPLOYMENTS, namespace, config.deployment, ctx.signal);
      if (!found) {
        if (config.manifest === undefined) {
          throw new ProviderError(`kubernetes target: ${what} does not exist; create it first (kubectl apply), or give the target a manifest to create it from on a first deploy`);
        }
        const manifest = await readManifest(config.manifest, deps.workDir, config.deployment, namespace);
        const body = { ...manifest, spec: { ...(manifest.spec as object), template: withVersion(templateOf(manifest), version, `the manifest ${config.manifest}`) } };
        // Kept before the change: a rollback from any later process deletes what this created.
        await keep({ created: true });
        try {
          await api.create(DEPLOYMENTS, body, ctx.signal);
        } catch (err) {
          // Someone else created it first (409 AlreadyExists): it is theirs, never to be deleted by an undo.
          if (KubeClient.isConflict(err)) await keep({ created: false });
          throw err;
        }
        ctx.recordChange({ object: object(namespace), field: 'created', before: null, after: imageOf(templateOf(body), what) });
        await awaitRollout(api, namespace, config.deployment, limits, ctx);
        return;
      }
      const runningImage = imageOf(templateOf(found), what);
      const desired = imageOf(withVersion(templateOf(found), version, what), what);
      if (runningImage !== desired) await remember(versionOfImage(runningImage), runningImage, desired);
      await setTemplate((d) => withVersion(templateOf(d), version, what), ctx);
    },

    async health(ctx: StepContext): Promise<HealthReport> {
      cancelledCheck(ctx, 'health');
      const { api, namespace, what } = await where(ctx);
      return healthOf(await api.get(DEPLOYMENTS, namespace, config.deployment, ctx.signal), what);
    },

    async revert(previous: DeployedState | undefined, ctx: StepContext): Promise<void> {
      cancelledCheck(ctx, 'revert');
      const { api, namespace, what } = await where(ctx);
      if (previous === undefined) {
        // Nothing ran before: remove the Deployment only when rollgate created it.
        if (!kept().created) return;
        if (await api.remove(DEPLOYMENTS, namespace, config.deployment, ctx.signal)) ctx.recordChange({ object: object(namespace), field: 'created', before: 'present', after: null });
        return;
      }
      const back = kept().images?.[previous.version];
      await setTemplate((d) => {
        const live = imageOf(templateOf(d), what);
        const image = back ?? imageOf(withVersion(templateOf(d), previous.version, what), what);
        // Only what rollgate set is undone: an image someone else deployed since stays, and a person decides.
        if (live !== image && !(kept().wrote ?? []).includes(live)) {
          throw new ProviderError(
            `kubernetes target: ${what} runs ${live}, which rollgate did not set (it set ${(kept().wrote ?? []).join(', ') || 'nothing'}): someone else deployed it since, so rollgate does not put ${image} back over it; check it, and revert by hand if it should go`,
          );
        }
        return withImage(templateOf(d), image, what);
      }, ctx);
    },
  };
  return { ...target, candidates: kubernetesCandidates(config, deps, { client, keep, kept, limits, withVersion, imageOf, object, remember, ...(unit.namespace ? { namespace: unit.namespace } : {}) }) };
}
