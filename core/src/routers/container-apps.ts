import { z } from 'zod';
import { armClient } from '../azure/arm.js';
import { ProviderError } from '../errors.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { TrafficRouter } from '../ports/traffic-router.js';
import { appRef, readApp } from '../targets/container-apps/api.js';
import { containerAppsCandidates } from '../targets/container-apps/candidates.js';
import { type Kept, liveTraffic, moveTraffic, type Parts, restoreForm } from '../targets/container-apps/revisions.js';
import { candidateOf } from '../targets/container-apps/traffic.js';

export const type = 'container-apps';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    app: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/, 'expected a container app name')
      .optional()
      .describe("The container app whose traffic is split (default: the stage's container-apps target's app)"),
    resourceGroup: z.string().min(1).max(90).optional().describe("Its resource group (default: the target's, else the environment's azure.resourceGroup)"),
    label: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/, 'expected a traffic label')
      .optional()
      .describe("The traffic label of the candidate revision (default: the target's label, else `candidate`)"),
  })
  .describe(
    "Splits a container app's traffic natively, by the weights of its revisions (properties.configuration.ingress.traffic): the candidate revision the container-apps target labels gets the canary's percent, the stable revisions the rest in the proportions found; finalize puts the traffic back as it was found, unless the candidate was promoted",
  );
export type ContainerAppsRouterConfig = z.output<typeof configSchema>;

/** The app and label the router splits: its own config, else the stage's container-apps target's. */
function resolved(config: ContainerAppsRouterConfig, deps: ProviderDeps) {
  const target = deps.target?.type === 'container-apps' ? (deps.target as { app?: string; resourceGroup?: string; label?: string }) : undefined;
  return { app: config.app ?? target?.app, resourceGroup: config.resourceGroup ?? target?.resourceGroup, label: config.label ?? target?.label ?? 'candidate' };
}

export function create(config: ContainerAppsRouterConfig, deps: ProviderDeps): TrafficRouter {
  const client = armClient(deps, `${type} router`);
  const { app, resourceGroup, label } = resolved(config, deps);
  const parts: Parts & { label: string } = {
    where: async (ctx) => {
      if (!app) throw new ProviderError(`${type} router: no app to split: name it (router.app), or use it with a container-apps target`);
      const arm = await client(ctx);
      return { arm, ref: appRef(arm, app, resourceGroup) };
    },
    kept: () => (deps.state.get() as Kept | undefined) ?? {},
    keep: (more) => deps.state.put({ ...((deps.state.get() as Kept | undefined) ?? {}), ...more } satisfies Kept),
    limits: { intervalMs: 5000, timeoutMs: 600_000 },
    config: {},
    workDir: deps.workDir,
    label,
  };
  const split = containerAppsCandidates(parts);

  return {
    type,
    async setWeights(weights, ctx) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      await split.share(weights.canary, ctx);
    },
    async getWeights(ctx) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      return { canary: await split.weight(ctx) };
    },
    async finalize(ctx) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const { arm, ref } = await parts.where(ctx);
      const now = await readApp(arm, ref);
      const found = parts.kept().found;
      // Never touched: the traffic is someone else's, left as it is. Promoted (the candidate holds
      // all traffic without its label) or removed: nothing to put back.
      if (!now || !found || !candidateOf(liveTraffic(now), label)) return;
      await moveTraffic(parts, arm, ref, now, found, ctx);
      // The entries as found (a latestRevision one) once the traffic goes where they mean.
      await restoreForm(parts, arm, ref, ctx);
    },
  };
}
