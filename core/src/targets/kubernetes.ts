import { z } from 'zod';
import { duration } from '../config/fields.js';
import { connection } from '../kubernetes/connection.js';
import { ProviderError } from '../errors.js';
import type { HealthReport } from '../model/results.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { CandidateTarget, FleetTarget, Target } from '../ports/target.js';
import type { Kept } from './kubernetes/deployments.js';
import { type DeploymentUnit, deploymentUnit } from './kubernetes/deployment-unit.js';

export const type = 'kubernetes';

/** A second Deployment runs the candidate (canary, blue-green's green); namespaces are the units of waves. */
export const capabilities = ['candidates', 'fleet'] as const;

const k8sName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'expected a Kubernetes object name (lowercase letters, digits, - and .)');
const labelMap = z.record(z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, 'expected a label key'), z.string().max(63));

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    deployment: k8sName.describe('Name of the Deployment whose image rollgate sets'),
    namespace: z.string().min(1).optional().describe("Its namespace (default: the environment's kubernetes.namespace, else the context's, else `default`)"),
    namespaces: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        'The same Deployment in each of these namespaces, in rollout order (a tenant, a region per namespace): each is a unit of a progressive rollout, and every other strategy acts on all of them',
      ),
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
  .describe('A Kubernetes Deployment: deploy sets the image and waits as `kubectl rollout status` does; revert puts the previous image back, and only over an image rollgate set');
export type KubernetesTargetConfig = z.output<typeof configSchema>;
type Config = KubernetesTargetConfig;

/** The kept state of every unit, by namespace ('' for the one namespace of a target without `namespaces`). */
type KeptUnits = Record<string, Kept>;

export function create(config: Config, deps: ProviderDeps): Target {
  const client = connection(deps);
  const all = () => (deps.state.get() as KeptUnits | undefined) ?? {};
  const unitOf = (namespace: string | undefined): DeploymentUnit => {
    const slot = namespace ?? '';
    return deploymentUnit(config, deps, {
      client,
      ...(namespace ? { namespace } : {}),
      kept: () => all()[slot] ?? {},
      keep: (more) => deps.state.put({ ...all(), [slot]: { ...all()[slot], ...more } } satisfies KeptUnits),
    });
  };
  const units = (config.namespaces ?? [undefined]).map((ns) => ({ namespace: ns, unit: unitOf(ns) }));
  const one = units.length === 1 ? (units[0] as { unit: DeploymentUnit }).unit : undefined;
  /** Every unit in order, one after the other (a rollout never changes two namespaces at once unless waves say so). */
  const each = async (fn: (unit: DeploymentUnit, namespace: string | undefined) => Promise<void>) => {
    for (const u of units) await fn(u.unit, u.namespace);
  };
  const byNamespace = (namespace: string): DeploymentUnit => {
    const found = units.find((u) => (u.namespace ?? '') === namespace || (u.namespace === undefined && namespace !== ''));
    if (!found) throw new ProviderError(`kubernetes target: namespace ${namespace} is not one of its namespaces (${(config.namespaces ?? []).join(', ')})`);
    return found.unit;
  };

  const target: Target = {
    type,
    async current(ctx) {
      if (one) return one.current(ctx);
      const states = await Promise.all(units.map(async (u) => ({ namespace: u.namespace as string, state: await u.unit.current(ctx) })));
      const first = states.find((s) => s.state !== undefined)?.state;
      if (!first) return undefined;
      // Each namespace's own version: a revert of the whole target puts each back as it was.
      const versions = Object.fromEntries(states.map((s) => [s.namespace, s.state?.version ?? null]));
      return { version: first.version, details: { ...first.details, namespace: undefined, versions } };
    },
    deploy: (version, ctx) => each((unit) => unit.deploy(version, ctx)),
    async health(ctx) {
      if (one) return one.health(ctx);
      return merged(await Promise.all(units.map((u) => u.unit.health(ctx))));
    },
    revert: (previous, ctx) =>
      each((unit, namespace) => {
        const versions = (previous?.details?.versions ?? undefined) as Record<string, string | null> | undefined;
        if (!versions || namespace === undefined) return unit.revert(previous, ctx);
        const own = versions[namespace];
        return unit.revert(own ? { version: own } : undefined, ctx);
      }),
  };
  const candidates: CandidateTarget = one
    ? one.candidates
    : {
        // Every namespace runs the same Deployment: the first one's scale stands for all.
        fullScale: (ctx) => (units[0] as { unit: DeploymentUnit }).unit.candidates.fullScale(ctx),
        deployCandidate: (version, replicas, ctx) => each((u) => u.candidates.deployCandidate(version, replicas, ctx)),
        scale: (split, ctx) => each((u) => u.candidates.scale(split, ctx)),
        candidateHealth: async (ctx) => merged(await Promise.all(units.map((u) => u.unit.candidates.candidateHealth(ctx)))),
        promote: (ctx) => each((u) => u.candidates.promote(ctx)),
        retirePromoted: (ctx) => each((u) => (u.candidates.retirePromoted as NonNullable<CandidateTarget['retirePromoted']>)(ctx)),
        removeCandidate: (ctx) => each((u) => u.candidates.removeCandidate(ctx)),
      };
  const fleet: FleetTarget = {
    async units(ctx) {
      if (config.namespaces) return [...config.namespaces];
      const api = await client(ctx);
      return [config.namespace ?? api.namespace];
    },
    unitVersion: async (namespace, ctx) => (await byNamespace(namespace).current(ctx))?.version,
    deployUnit: async (namespace, version, ctx) => byNamespace(namespace).deploy(version, ctx),
    unitHealth: async (namespace, ctx) => byNamespace(namespace).health(ctx),
    revertUnit: async (namespace, previous, ctx) => byNamespace(namespace).revert(previous === undefined ? undefined : { version: previous }, ctx),
  };
  return Object.assign(target, { candidates, fleet });
}

/** The health of several Deployments as one: healthy when all are, their replicas summed. */
function merged(reports: HealthReport[]): HealthReport {
  const sick = reports.find((r) => !r.healthy);
  return {
    healthy: sick === undefined,
    ready: reports.reduce((n, r) => n + r.ready, 0),
    total: reports.reduce((n, r) => n + r.total, 0),
    ...(sick?.message ? { message: sick.message } : {}),
  };
}

