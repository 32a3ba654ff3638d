import { ProviderError } from '../../errors.js';
import { DEPLOYMENTS, HPAS, type KubeClient, type KubeObject } from '../../kubernetes/client.js';
import type { ProviderDeps } from '../../ports/provider-deps.js';
import type { StepContext } from '../../ports/step-context.js';
import type { CandidateTarget, ReplicaSplit } from '../../ports/target.js';
import { versionOfImage } from '../../util/image-ref.js';
import { awaitRollout, healthOf, type Kept, type PodTemplate, readManifest, replicasOf, templateOf, updateDeployment } from './deployments.js';

/*
 * The candidates capability of the kubernetes target: a second Deployment (DEPLOYMENT-candidate)
 * runs the new version beside the stable one, from the stable Deployment's spec with the
 * candidate's labels added to its pod labels and selector, so that the two never adopt each
 * other's pods and a Service or route can select either. Promoting sets the stable Deployment's
 * image to the candidate's and deletes the candidate. When a HorizontalPodAutoscaler scales the
 * stable Deployment, its replica count is left to the autoscaler, and the run log says so.
 */

/** What the target shares with its candidates. */
export interface TargetParts {
  client(ctx: StepContext): Promise<KubeClient>;
  kept(): Kept;
  keep(more: Kept): Promise<void>;
  limits: { intervalMs: number; timeoutMs: number };
  withVersion(template: PodTemplate, version: string, what: string): PodTemplate;
  imageOf(template: PodTemplate, what: string): string;
  object(namespace: string, name?: string): string;
  /** Keeps, before rollgate sets `image` on the stable Deployment, what `version` ran as. */
  remember(version: string, ran: string, image: string): Promise<void>;
  /** The namespace of this unit; `undefined`: the config's, else the connection's. */
  namespace?: string;
}

/** The part of the target's config the candidates read. */
export interface CandidateConfig {
  deployment: string;
  namespace?: string | undefined;
  manifest?: string | undefined;
  candidate: { name?: string | undefined; labels: Record<string, string> };
}

export function kubernetesCandidates(config: CandidateConfig, deps: ProviderDeps, parts: TargetParts): CandidateTarget {
  const name = config.candidate.name ?? `${config.deployment}-candidate`;
  const extra = config.candidate.labels;

  const where = async (ctx: StepContext) => {
    const api = await parts.client(ctx);
    const namespace = parts.namespace ?? config.namespace ?? api.namespace;
    return { api, namespace, stableWhat: `Deployment ${namespace}/${config.deployment}`, what: `candidate Deployment ${namespace}/${name}` };
  };

  /** The stable Deployment, or the manifest of a first deploy: what the candidate is made from. */
  async function base(api: KubeClient, namespace: string, ctx: StepContext): Promise<KubeObject> {
    const stable = await api.get(DEPLOYMENTS, namespace, config.deployment, ctx.signal);
    if (stable) return stable;
    if (config.manifest !== undefined) return readManifest(config.manifest, deps.workDir, config.deployment, namespace);
    throw new ProviderError(`kubernetes target: Deployment ${namespace}/${config.deployment} does not exist, so there is nothing to run a candidate beside; create it first, or give the target a manifest`);
  }

  /** The candidate Deployment made from `from`: its labels added, `version`, `replicas`. */
  function candidateOf(from: KubeObject, namespace: string, version: string, replicas: number): KubeObject {
    const spec = structuredClone((from.spec ?? {}) as Record<string, unknown> & { selector?: { matchLabels?: Record<string, string> } });
    const template = parts.withVersion(templateOf(from), version, `Deployment ${namespace}/${config.deployment}`);
    template.metadata = { ...template.metadata, labels: { ...(template.metadata?.labels ?? {}), ...extra } };
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, labels: { ...ownLabels(from), ...extra }, annotations: { 'rollgate.io/candidate-of': config.deployment } },
      spec: { ...spec, replicas, selector: { ...spec.selector, matchLabels: { ...(spec.selector?.matchLabels ?? {}), ...extra } }, template },
    };
  }

  /** The HPA that scales the stable Deployment, if any. */
  async function autoscaler(api: KubeClient, namespace: string, ctx: StepContext): Promise<KubeObject | undefined> {
    const hpas = await api.list(HPAS, namespace, undefined, ctx.signal);
    return hpas.find((h) => {
      const ref = ((h.spec ?? {}) as { scaleTargetRef?: { kind?: string; name?: string } }).scaleTargetRef;
      return ref?.kind === 'Deployment' && ref.name === config.deployment;
    });
  }

  /** Sets a Deployment's replicas (conflicts retried) and reports it; `false` when it does not exist. */
  async function setReplicas(api: KubeClient, namespace: string, deployment: string, replicas: number, ctx: StepContext): Promise<boolean> {
    const written = await updateDeployment(api, namespace, deployment, (d) => (replicasOf(d) === replicas ? undefined : { ...d, spec: { ...(d.spec as object), replicas } }), ctx);
    if (!written) return false;
    if (written.after !== written.before) ctx.recordChange({ object: parts.object(namespace, deployment), field: 'replicas', before: replicasOf(written.before), after: replicas });
    return true;
  }

  return {
    async fullScale(ctx) {
      const { api, namespace } = await where(ctx);
      const from = await base(api, namespace, ctx);
      return restorable(from, ctx) ?? replicasOf(from);
    },

    async deployCandidate(version, replicas, ctx) {
      const { api, namespace, what } = await where(ctx);
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const desired = candidateOf(await base(api, namespace, ctx), namespace, version, replicas);
      const existing = await api.get(DEPLOYMENTS, namespace, name, ctx.signal);
      if (!existing) {
        await api.create(DEPLOYMENTS, desired, ctx.signal);
        ctx.recordChange({ object: parts.object(namespace, name), field: 'created', before: null, after: parts.imageOf(templateOf(desired), what) });
      } else {
        const written = await updateDeployment(
          api,
          namespace,
          name,
          (d) => {
            const same = JSON.stringify(templateOf(d)) === JSON.stringify(templateOf(desired)) && replicasOf(d) === replicas;
            return same ? undefined : { ...d, spec: { ...(d.spec as object), replicas, template: templateOf(desired) } };
          },
          ctx,
        );
        if (written && written.after !== written.before) {
          ctx.recordChange({ object: parts.object(namespace, name), field: 'image', before: parts.imageOf(templateOf(written.before), what), after: parts.imageOf(templateOf(desired), what) });
        }
      }
      await awaitRollout(api, namespace, name, parts.limits, ctx);
    },

    async scale(split: ReplicaSplit, ctx) {
      const { api, namespace, stableWhat } = await where(ctx);
      const hpa = await autoscaler(api, namespace, ctx);
      if (hpa) {
        const spec = (hpa.spec ?? {}) as { minReplicas?: number; maxReplicas?: number };
        ctx.log.warn(
          `kubernetes: HorizontalPodAutoscaler ${namespace}/${String(hpa.metadata?.name)} scales ${stableWhat} (${spec.minReplicas ?? 1}–${spec.maxReplicas ?? '?'} replicas): its replica count is left to the autoscaler, only the candidate is scaled to ${split.candidate}`,
        );
      } else {
        const stable = await api.get(DEPLOYMENTS, namespace, config.deployment, ctx.signal);
        if (stable && replicasOf(stable) !== split.stable) {
          // Kept before the change: the full scale to go back to, and what rollgate set (see restorable).
          await parts.keep({ stableReplicas: restorable(stable, ctx) ?? replicasOf(stable), stableSet: split.stable });
          await setReplicas(api, namespace, config.deployment, split.stable, ctx);
        }
      }
      if (!(await setReplicas(api, namespace, name, split.candidate, ctx))) throw new ProviderError(`kubernetes target: candidate Deployment ${namespace}/${name} does not exist; start it before scaling it`);
      if (!hpa && (await api.get(DEPLOYMENTS, namespace, config.deployment, ctx.signal))) await awaitRollout(api, namespace, config.deployment, parts.limits, ctx);
      await awaitRollout(api, namespace, name, parts.limits, ctx);
    },

    async candidateHealth(ctx) {
      const { api, namespace, what } = await where(ctx);
      return healthOf(await api.get(DEPLOYMENTS, namespace, name, ctx.signal), what);
    },

    async promote(ctx) {
      const { api, namespace, what, stableWhat } = await where(ctx);
      const candidate = await api.get(DEPLOYMENTS, namespace, name, ctx.signal);
      // Promoted already (the candidate is gone once the stable runs its version).
      if (!candidate) return;
      const image = parts.imageOf(templateOf(candidate), what);
      const stable = await api.get(DEPLOYMENTS, namespace, config.deployment, ctx.signal);
      if (!stable) {
        // A first deploy: the stable Deployment is made from the manifest, running the candidate's image.
        const from = await base(api, namespace, ctx);
        await parts.keep({ created: true });
        const body = { ...from, spec: { ...(from.spec as object), template: parts.withVersion(templateOf(from), image, stableWhat) } };
        await api.create(DEPLOYMENTS, body, ctx.signal);
        ctx.recordChange({ object: parts.object(namespace), field: 'created', before: null, after: image });
      } else {
        const running = templateOf(stable);
        const ran = parts.imageOf(running, stableWhat);
        if (ran !== image) await parts.remember(versionOfImage(ran), ran, image);
        const restore = restorable(stable, ctx);
        if (restore !== undefined) await parts.keep({ stableSet: restore });
        const written = await updateDeployment(
          api,
          namespace,
          config.deployment,
          (d) => {
            const template = parts.withVersion(templateOf(d), image, stableWhat);
            const replicas = restore ?? replicasOf(d);
            if (JSON.stringify(template) === JSON.stringify(templateOf(d)) && replicas === replicasOf(d)) return undefined;
            return { ...d, spec: { ...(d.spec as object), replicas, template } };
          },
          ctx,
        );
        if (written && written.after !== written.before) ctx.recordChange({ object: parts.object(namespace), field: 'image', before: parts.imageOf(running, stableWhat), after: image });
      }
      // The candidate keeps serving until the router has moved traffic back (retirePromoted).
      await awaitRollout(api, namespace, config.deployment, parts.limits, ctx);
    },

    retirePromoted: (ctx) => removeCandidateDeployment(ctx),

    async removeCandidate(ctx) {
      await removeCandidateDeployment(ctx);
      const { api, namespace } = await where(ctx);
      const stable = await api.get(DEPLOYMENTS, namespace, config.deployment, ctx.signal);
      const restore = stable ? restorable(stable, ctx) : undefined;
      if (restore === undefined || replicasOf(stable as KubeObject) === restore) return;
      await parts.keep({ stableSet: restore });
      if (await setReplicas(api, namespace, config.deployment, restore, ctx)) await awaitRollout(api, namespace, config.deployment, parts.limits, ctx);
    },
  };

  async function removeCandidateDeployment(ctx: StepContext): Promise<void> {
    const { api, namespace, what } = await where(ctx);
    const candidate = await api.get(DEPLOYMENTS, namespace, name, ctx.signal);
    if (candidate && (await api.remove(DEPLOYMENTS, namespace, name, ctx.signal))) {
      ctx.recordChange({ object: parts.object(namespace, name), field: 'created', before: parts.imageOf(templateOf(candidate), what), after: null });
    }
  }

  /**
   * The stable replica count to go back to, when rollgate changed it and nobody else has since:
   * `undefined` when rollgate never scaled the stable Deployment, and also (said in the run log)
   * when its replicas are no longer what rollgate set (someone scaled it meanwhile: theirs stands).
   */
  function restorable(stable: KubeObject, ctx: StepContext): number | undefined {
    const { stableReplicas, stableSet } = parts.kept();
    if (stableReplicas === undefined) return undefined;
    const live = replicasOf(stable);
    if (live === stableSet || live === stableReplicas) return stableReplicas;
    ctx.log.warn(
      `kubernetes: Deployment ${String(stable.metadata?.namespace)}/${config.deployment} has ${live} replicas, not the ${String(stableSet)} rollgate set: someone scaled it meanwhile, so rollgate leaves it at ${live} instead of putting back ${stableReplicas}`,
    );
    return undefined;
  }
}

/**
 * The stable Deployment's labels a candidate may carry: not a GitOps tool's tracking labels, with
 * which Argo CD would take the candidate for its own and could prune it in the middle of a canary.
 */
function ownLabels(from: KubeObject): Record<string, string> {
  const labels = (from.metadata?.labels ?? {}) as Record<string, string>;
  return Object.fromEntries(Object.entries(labels).filter(([k]) => k !== 'app.kubernetes.io/instance' && !k.startsWith('argocd.argoproj.io/')));
}
