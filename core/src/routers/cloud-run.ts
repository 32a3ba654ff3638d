import { z } from 'zod';
import { ProviderError } from '../errors.js';
import { gcpApi } from '../gcp/client.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import type { TrafficRouter } from '../ports/traffic-router.js';
import { RunService } from '../targets/cloud-run/service.js';
import { candidateEntry, refuseTheirs, setShare, setTraffic } from '../targets/cloud-run/share.js';
import { explicit, type TrafficEntry } from '../targets/cloud-run/traffic.js';

export const type = 'cloud-run';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    service: z.string().min(1).optional().describe("The Cloud Run service whose traffic is split (default: the stage's cloud-run target's)"),
    region: z.string().min(1).optional().describe("Its region (default: the target's, else the environment's gcp.region)"),
    project: z.string().min(1).optional().describe("Its project (default: the target's, else the environment's gcp.project)"),
    candidateTag: z.string().min(1).optional().describe("The traffic tag of the candidate revision (default: the target's candidateTag, else `candidate`)"),
  })
  .superRefine((c, issues) => {
    // Cloud Run refuses a traffic tag and service name longer than 46 characters together.
    if (c.service !== undefined && c.candidateTag !== undefined && c.service.length + c.candidateTag.length > 46) {
      issues.addIssue({
        code: 'custom',
        path: ['candidateTag'],
        message: `Cloud Run refuses a traffic tag and service name longer than 46 characters together: service '${c.service}' (${c.service.length}) and candidateTag '${c.candidateTag}' (${c.candidateTag.length}) make ${c.service.length + c.candidateTag.length}; shorten candidateTag`,
      });
    }
  })
  .describe(
    "Splits a Cloud Run service's traffic between its revisions by percent: the candidate revision (the one the cloud-run target tagged) gets the canary's share, the others the rest in their proportions; finalize puts back the split it found while the candidate is still tagged",
  );
export type CloudRunRouterConfig = z.output<typeof configSchema>;

/** What the router keeps: the service's traffic when it first touched it. */
interface Kept {
  found?: TrafficEntry[];
}

/**
 * The cloud-run router: Cloud Run's own traffic split, on the service the stage's cloud-run target
 * deploys (see targets/cloud-run.ts for why the two are separate providers). getWeights reads the
 * trafficStatuses Cloud Run serves, not the spec, so a weight is verified once it is served.
 * finalize restores the split it found only while the candidate still carries its tag: once the
 * target has promoted it (tag dropped, all traffic to it) or removed it, the traffic is the target's.
 */
export function create(config: CloudRunRouterConfig, deps: ProviderDeps): TrafficRouter {
  const target = deps.target?.type === 'cloud-run' ? deps.target : undefined;
  const own = (field: 'service' | 'region' | 'project' | 'candidateTag') => config[field] ?? (typeof target?.[field] === 'string' ? (target[field] as string) : undefined);
  const api = gcpApi(deps, 'cloud-run router');
  const tag = own('candidateTag') ?? 'candidate';
  let resolved: RunService | undefined;
  const service = async (ctx: StepContext) => {
    const id = own('service');
    if (!id) throw new ProviderError('cloud-run router: no service: set `service` on the router, or use it in a stage whose target is cloud-run', { nothingChanged: true });
    return (resolved ??= new RunService(api, { project: await api.project(ctx, own('project')), region: api.region(own('region')), service: id }, { intervalMs: 1000, timeoutMs: 600_000 }));
  };
  const kept = () => (deps.state.get() as Kept | undefined) ?? {};

  /** Keeps the traffic as found before the first change. */
  async function remember(s: RunService, ctx: StepContext): Promise<void> {
    if (kept().found) return;
    const live = await s.read(ctx);
    if (!live) throw new ProviderError(`cloud-run router: the ${s.label} does not exist; deploy it first`);
    await deps.state.put({ found: explicit(live.traffic, live.latestReadyRevision) } satisfies Kept);
  }

  return {
    type,
    async setWeights(weights, ctx) {
      const s = await service(ctx);
      await remember(s, ctx);
      await setShare(s, tag, weights.canary, (kept().found ?? []).filter((t) => t.tag !== tag), 'cloud-run router', ctx);
    },

    async getWeights(ctx) {
      const s = await service(ctx);
      const live = await s.read(ctx);
      if (!live) throw new ProviderError(`cloud-run router: the ${s.label} does not exist`);
      // What Cloud Run serves; the spec may be ahead of it while an operation runs.
      const served = live.trafficStatuses ?? [];
      return { canary: served.filter((t) => t.tag === tag).reduce((n, t) => n + (t.percent ?? 0), 0) };
    },

    async finalize(ctx) {
      const found = kept().found;
      if (!found) return;
      const s = await service(ctx);
      const live = await s.read(ctx);
      if (!live || !candidateEntry(live, tag)) return;
      await setTraffic(
        s,
        (traffic) => {
          // Someone else's revision given traffic during the rollout is not taken off silently.
          refuseTheirs('cloud-run router', s, traffic, [...found.map((t) => t.revision), traffic.find((t) => t.tag === tag)?.revision], 'put back the traffic it found');
          return found;
        },
        'put the traffic back as the router found it',
        ctx,
      );
    },
  };
}
