import { z } from 'zod';
import { type Arm, armClient } from '../azure/arm.js';
import { duration } from '../config/fields.js';
import { ProviderError } from '../errors.js';
import type { DeployedState } from '../model/results.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import type { Target } from '../ports/target.js';
import { versionOfImage } from '../util/image-ref.js';
import { type AppRef, appRef, awaitRevision, type ContainerApp, deleteApp, healthOf, isMultiple, readApp, readRevision, revisionAction } from './container-apps/api.js';
import { containerAppsCandidates, deactivateIfIdle } from './container-apps/candidates.js';
import { deploySingle, revertSingle } from './container-apps/single.js';
import { createApp, ensureRevision, imageOfRevision, type Kept, liveTraffic, moveTraffic, type Parts, restoreForm, setByRollgate } from './container-apps/revisions.js';
import { candidateOf, describeTraffic, type Pinned, sameTraffic, stableOf } from './container-apps/traffic.js';

export const type = 'container-apps';

/** A second revision of the same app runs the candidate; its traffic weight is set natively. */
export const capabilities = ['candidates'] as const;

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    app: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/, 'expected a container app name (2 to 32 lowercase letters, digits and -, starting with a letter)')
      .describe('Name of the container app'),
    resourceGroup: z.string().min(1).max(90).optional().describe("Its resource group (default: the environment's azure.resourceGroup)"),
    container: z.string().min(1).optional().describe('The container whose image is set (default: the first one)'),
    image: z
      .string()
      .min(1)
      .optional()
      .describe("The image repository; a version becomes its tag (`myregistry.azurecr.io/web` + `1.4.2`), or its digest when it starts with sha256:. Default: the container's current repository. A version holding / or : is a whole image reference"),
    manifest: z
      .string()
      .min(1)
      .optional()
      .describe("The app's ARM body (YAML or JSON: location, properties.environmentId, properties.template…, relative to the workflow file) used to create it on a first deploy; a rollback of that deploy deletes it"),
    label: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/, 'expected a traffic label (lowercase letters, digits and -)')
      .default('candidate')
      .describe("The traffic label of the candidate revision while it runs beside the stable one: its own URL is APP---LABEL.<environment's domain> (a blue-green preview)"),
    interval: duration('How often a starting revision is read while rollgate waits').prefault('5s'),
    timeout: duration('How long a revision may take to provision and become healthy').prefault('10m'),
  })
  .describe(
    'An Azure Container App in Multiple revision mode: a version is a new revision (suffix from the version) started with no traffic, then given traffic by weight; revert moves traffic back to the revisions it found and deactivates the new one, and only over traffic rollgate set',
  );
export type ContainerAppsTargetConfig = z.output<typeof configSchema>;

export function create(config: ContainerAppsTargetConfig, deps: ProviderDeps): Target {
  const client = armClient(deps, type);
  const parts: Parts & { label: string } = {
    where: async (ctx) => {
      const arm = await client(ctx);
      return { arm, ref: appRef(arm, config.app, config.resourceGroup) };
    },
    kept: () => (deps.state.get() as Kept | undefined) ?? {},
    keep: (more) => deps.state.put({ ...((deps.state.get() as Kept | undefined) ?? {}), ...more } satisfies Kept),
    limits: { intervalMs: config.interval, timeoutMs: config.timeout },
    config,
    workDir: deps.workDir,
    label: config.label,
  };
  const candidates = containerAppsCandidates(parts);

  /** The revision serving as the stable version: the one with the most traffic outside the candidate's label. */
  async function stable(arm: Arm, ref: AppRef, app: ContainerApp): Promise<{ name: string; image: string; traffic: Pinned[] } | undefined> {
    const traffic = stableOf(liveTraffic(app), config.label);
    const top = [...traffic].sort((a, b) => b.weight - a.weight)[0]?.revisionName ?? candidateOf(liveTraffic(app), config.label)?.revisionName ?? app.properties?.latestReadyRevisionName;
    if (!top) return undefined;
    const revision = await readRevision(arm, ref, top);
    if (!revision) return undefined;
    return { name: top, image: imageOfRevision({ ...revision, name: top } as never, parts), traffic };
  }

  const target: Target = {
    type,
    async current(ctx) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const { arm, ref } = await parts.where(ctx);
      const app = await readApp(arm, ref);
      if (!app) return undefined;
      const found = await stable(arm, ref, app);
      if (!found) return undefined;
      return { version: versionOfImage(found.image), details: { app: ref.object, revision: found.name, image: found.image, traffic: found.traffic } };
    },

    async deploy(version, ctx) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const { arm, ref } = await parts.where(ctx);
      const app = await readApp(arm, ref);
      if (!app) {
        await createApp(parts, arm, ref, version, ctx);
        return;
      }
      if (!isMultiple(app)) {
        await deploySingle(parts, arm, ref, app, version, ctx);
        return;
      }
      const name = await ensureRevision(parts, arm, ref, app, version, ctx);
      const now = (await readApp(arm, ref)) ?? app;
      await moveTraffic(parts, arm, ref, now, [{ revisionName: name, weight: 100 }], ctx);
      await restoreForm(parts, arm, ref, ctx);
    },

    async health(ctx) {
      const { arm, ref } = await parts.where(ctx);
      const app = await readApp(arm, ref);
      if (!app) return { healthy: false, ready: 0, total: 0, message: `${ref.what} does not exist` };
      const found = await stable(arm, ref, app);
      if (!found) return { healthy: false, ready: 0, total: 0, message: `${ref.what} has no revision that takes traffic` };
      return healthOf(await readRevision(arm, ref, found.name), `revision ${found.name} of ${ref.what}`);
    },

    async revert(previous, ctx) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const { arm, ref } = await parts.where(ctx);
      const app = await readApp(arm, ref);
      if (previous === undefined) {
        // Nothing ran before: remove the app only when rollgate created it.
        if (!app || !parts.kept().created) return;
        await deleteApp(arm, ref, ctx);
        return;
      }
      if (!app) throw new ProviderError(`container-apps: ${ref.what} does not exist any more, so ${previous.version} cannot be put back; someone deleted it`);
      if (!isMultiple(app)) {
        await revertSingle(parts, arm, ref, previous, ctx);
        return;
      }
      const back = trafficOf(previous);
      const live = liveTraffic(app);
      const set = parts.kept().set ?? parts.kept().intended;
      // Only traffic rollgate set is undone: a later deploy by someone else stays, and a person decides.
      if (!sameTraffic(live, back) && !setByRollgate(live, parts.kept())) {
        throw new ProviderError(
          `container-apps: ${ref.what} sends ${describeTraffic(live)}, which rollgate did not set (it set ${set ? describeTraffic(set) : 'nothing'}): someone else changed it since, so rollgate does not put ${describeTraffic(back)} back over it; check it, and revert by hand if it should go`,
        );
      }
      for (const entry of back.filter((t) => t.weight > 0)) await reactivate(arm, ref, entry.revisionName, ctx);
      const fresh = (await readApp(arm, ref)) ?? app;
      await moveTraffic(parts, arm, ref, fresh, back, ctx);
      const keep = new Set(back.map((t) => t.revisionName));
      for (const name of parts.kept().made ?? []) if (!keep.has(name)) await deactivateIfIdle(arm, ref, name, ctx);
      await restoreForm(parts, arm, ref, ctx);
    },
  };

  /** An inactive revision of the previous version activated again (after a promotion retired it), and waited for. */
  async function reactivate(arm: Arm, ref: AppRef, name: string, ctx: StepContext): Promise<void> {
    const revision = await readRevision(arm, ref, name);
    if (!revision) throw new ProviderError(`container-apps: revision ${name} of ${ref.what} does not exist any more, so its traffic cannot be put back; deploy its version again`);
    if (revision.properties?.active === false) {
      await revisionAction(arm, ref, name, 'activate', ctx);
      ctx.recordChange({ object: ref.object, field: `revision ${name}`, before: 'inactive', after: 'active' });
    }
    await awaitRevision(arm, ref, name, parts.limits, ctx);
  }

  const { share: _share, weight: _weight, ...capability } = candidates;
  return Object.assign(target, { candidates: capability });
}

/** The traffic a previous state stands for: what `current` recorded, else all of it to its revision. */
function trafficOf(previous: DeployedState): Pinned[] {
  const details = (previous.details ?? {}) as { traffic?: Pinned[]; revision?: string };
  if (Array.isArray(details.traffic) && details.traffic.length > 0) return details.traffic;
  if (details.revision) return [{ revisionName: details.revision, weight: 100 }];
  throw new ProviderError(`container-apps: the state kept for ${previous.version} does not say which revision served it; move its traffic back by hand (az containerapp ingress traffic set)`);
}
