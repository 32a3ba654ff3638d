import { z } from 'zod';
import { duration } from '../config/fields.js';
import { ProviderError } from '../errors.js';
import { DEPLOYMENTS, type KubeObject } from '../kubernetes/client.js';
import { connection } from '../kubernetes/connection.js';
import type { DeployedState } from '../model/results.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import type { Target } from '../ports/target.js';
import { kubernetesCandidates } from './kubernetes/candidates.js';
import {
  awaitRollout,
  containerOf,
  healthOf,
  imageFor,
  type Kept,
  type PodTemplate,
  readManifest,
  repositoryOf,
  templateOf,
  updateDeployment,
  versionOfImage,
} from './kubernetes/deployments.js';

export const type = 'kubernetes';

/** A second Deployment runs the candidate (canary, blue-green's green). */
export const capabilities = ['candidates'] as const;

const k8sName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'expected a Kubernetes object name (lowercase letters, digits, - and .)');
const labelMap = z.record(z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, 'expected a label key'), z.string().max(63));

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    deployment: k8sName.describe('Name of the Deployment whose image rollgate sets'),
    namespace: z.string().min(1).optional().describe("Its namespace (default: the environment's kubernetes.namespace, else the context's, else `default`)"),
    container: z.string().min(1).optional().describe('The container whose image is set (default: the first one)'),
    image: z
      .string()
      .min(1)
      .optional()
      .describe(
        "The image repository; a version becomes its tag (`ghcr.io/acme/web` + `1.4.2`), or its digest when it starts with sha256:. Default: the container's current repository. A version holding / or : is a whole image reference",
      ),
    manifest: z
      .string()
      .min(1)
      .optional()
      .describe('A Deployment manifest (YAML, relative to the workflow file) created on a first deploy when the Deployment does not exist; a rollback of that deploy deletes it'),
    candidate: z
      .strictObject({
        name: k8sName.optional().describe('Name of the candidate Deployment (default: DEPLOYMENT-candidate)'),
        labels: labelMap
          .default({ 'rollgate.io/track': 'candidate' })
          .describe(
            "Labels added to (or replacing in) the candidate's pod labels and selector, so Services and routes can tell it from the stable pods; the stable pods need a label these override for a Service selector to leave the candidate out",
          ),
      })
      .prefault({})
      .describe('The second Deployment that runs a canary or the green copy beside the stable one'),
    interval: duration('How often the rollout status is read while rollgate waits').prefault('2s'),
    rolloutTimeout: duration("How long a rollout may take before rollgate gives up on it (the Deployment's own progressDeadlineSeconds fails it sooner)").prefault('10m'),
  })
  .describe('A Kubernetes Deployment: deploy sets the image and waits as `kubectl rollout status` does; revert puts the previous pod template back');
export type KubernetesTargetConfig = z.output<typeof configSchema>;
type Config = KubernetesTargetConfig;

export function create(config: Config, deps: ProviderDeps): Target {
  const client = connection(deps);
  const kept = () => (deps.state.get() as Kept | undefined) ?? {};
  const keep = (more: Kept) => deps.state.put({ ...kept(), ...more } satisfies Kept);

  const where = async (ctx: StepContext) => {
    const api = await client(ctx);
    const namespace = config.namespace ?? api.namespace;
    return { api, namespace, what: `Deployment ${namespace}/${config.deployment}` };
  };
  const limits = { intervalMs: config.interval, timeoutMs: config.rolloutTimeout };
  const imageOf = (template: PodTemplate, what: string) => containerOf(template, config.container, what).image ?? '';
  const object = (namespace: string, name = config.deployment) => `deployment/${namespace}/${name}`;

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

  const target: Target = {
    type,
    async current(ctx) {
      cancelledCheck(ctx, 'current');
      const { api, namespace, what } = await where(ctx);
      const d = await api.get(DEPLOYMENTS, namespace, config.deployment, ctx.signal);
      if (!d) return undefined;
      const image = imageOf(templateOf(d), what);
      return { version: versionOfImage(image), details: { image, namespace, deployment: config.deployment, replicas: (d.spec as { replicas?: number }).replicas ?? 1 } };
    },

    async deploy(version, ctx) {
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
        await api.create(DEPLOYMENTS, body, ctx.signal);
        ctx.recordChange({ object: object(namespace), field: 'created', before: null, after: imageOf(templateOf(body), what) });
        await awaitRollout(api, namespace, config.deployment, limits, ctx);
        return;
      }
      const running = templateOf(found);
      const runningVersion = versionOfImage(imageOf(running, what));
      if (runningVersion !== version && kept().templates?.[runningVersion] === undefined) {
        await keep({ templates: { ...kept().templates, [runningVersion]: running } });
      }
      await setTemplate((d) => withVersion(templateOf(d), version, what), ctx);
    },

    async health(ctx) {
      cancelledCheck(ctx, 'health');
      const { api, namespace, what } = await where(ctx);
      return healthOf(await api.get(DEPLOYMENTS, namespace, config.deployment, ctx.signal), what);
    },

    async revert(previous: DeployedState | undefined, ctx) {
      cancelledCheck(ctx, 'revert');
      const { api, namespace, what } = await where(ctx);
      if (previous === undefined) {
        // Nothing ran before: remove the Deployment only when rollgate created it.
        if (!kept().created) return;
        if (await api.remove(DEPLOYMENTS, namespace, config.deployment, ctx.signal)) ctx.recordChange({ object: object(namespace), field: 'created', before: 'present', after: null });
        return;
      }
      const saved = kept().templates?.[previous.version];
      await setTemplate((d) => saved ?? withVersion(templateOf(d), previous.version, what), ctx);
    },
  };
  return Object.assign(target, { candidates: kubernetesCandidates(config, deps, { client, keep, kept, limits, withVersion, imageOf, object }) });
}
