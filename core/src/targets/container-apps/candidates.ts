import { ProviderError } from '../../errors.js';
import type { StepContext } from '../../ports/step-context.js';
import type { CandidateTarget } from '../../ports/target.js';
import { type AppRef, deleteApp, healthOf, readApp, readRevision, requireMultiple, revisionAction } from './api.js';
import { createApp, ensureRevision, liveTraffic, moveTraffic, type Parts, restoreForm } from './revisions.js';
import { candidateOf, type Pinned, spread, stableOf, withCandidate } from './traffic.js';
import type { Arm } from '../../azure/arm.js';

/*
 * The candidates capability of the container-apps target: the new version is a revision of the
 * same app, started with no traffic and marked in the traffic list by a label (`candidate`, which
 * also gives it a URL of its own: APP---candidate.ENVIRONMENT-DOMAIN, a blue-green preview). Its
 * share is a traffic weight set natively: the "replica" counts the engine uses without a router
 * are percents here (fullScale is 100), and the container-apps router sets the same weights.
 * Promotion sends all traffic to it; the revisions that served before are deactivated once
 * traffic has left them (retirePromoted). Removing it sends its share back to the stable
 * revisions in the proportions rollgate found, and deactivates it when rollgate started it.
 */

/** Percent shares: what `scale` and the router split. */
export const FULL = 100;

export interface CandidateParts extends Parts {
  label: string;
}

export function containerAppsCandidates(parts: CandidateParts): CandidateTarget & { share(share: number, ctx: StepContext): Promise<void>; weight(ctx: StepContext): Promise<number> } {
  const { label } = parts;
  const loaded = async (ctx: StepContext) => {
    const { arm, ref } = await parts.where(ctx);
    return { arm, ref, app: await readApp(arm, ref) };
  };
  /** The stable revisions' proportions: as rollgate found them, else as they are now. */
  const base = (live: Pinned[]) => stableOf(parts.kept().found ?? live, label);

  async function share(weight: number, ctx: StepContext): Promise<void> {
    const { arm, ref, app } = await loaded(ctx);
    if (!app) throw new ProviderError(`container-apps: ${ref.what} does not exist, so no traffic can be sent to a candidate`);
    const live = liveTraffic(app);
    const candidate = candidateOf(live, label);
    if (!candidate) throw new ProviderError(`container-apps: ${ref.what} has no revision labelled '${label}' in its traffic: start the candidate before sending it traffic`);
    await moveTraffic(parts, arm, ref, app, withCandidate(base(live), candidate.revisionName, label, Math.round(weight)), ctx);
  }

  /** Traffic back to the stable revisions, the candidate's entry gone; its revision deactivated when rollgate started it. */
  async function remove(ctx: StepContext, deactivate: boolean): Promise<void> {
    const { arm, ref, app } = await loaded(ctx);
    if (!app) return;
    const live = liveTraffic(app);
    const candidate = candidateOf(live, label);
    if (parts.kept().created && candidate && stableOf(live, label).every((t) => t.weight === 0 && t.revisionName === candidate.revisionName)) {
      // The app exists only for this candidate (a first deploy): nothing else runs there.
      await deleteApp(arm, ref, ctx);
      return;
    }
    if (candidate) await moveTraffic(parts, arm, ref, app, spread(base(live), FULL), ctx);
    const name = candidate?.revisionName ?? (parts.kept().made ?? []).at(-1);
    if (deactivate && name && (parts.kept().made ?? []).includes(name)) await deactivateIfIdle(arm, ref, name, ctx);
    await restoreForm(parts, arm, ref, ctx);
  }

  return {
    share,
    async weight(ctx) {
      const { ref, app } = await loaded(ctx);
      if (!app) throw new ProviderError(`container-apps: ${ref.what} does not exist`);
      return candidateOf(liveTraffic(app), label)?.weight ?? 0;
    },

    fullScale: async () => FULL,

    async deployCandidate(version, _replicas, ctx) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const { arm, ref, app } = await loaded(ctx);
      if (!app) {
        // Nothing runs yet: the app is created with the candidate, the only revision there is.
        const name = await createApp(parts, arm, ref, version, ctx);
        const created = await readApp(arm, ref);
        if (created) await moveTraffic(parts, arm, ref, created, [{ revisionName: name, weight: FULL, label }], ctx, []);
        return;
      }
      requireMultiple(app, ref);
      const name = await ensureRevision(parts, arm, ref, app, version, ctx);
      const now = (await readApp(arm, ref)) ?? app;
      const live = liveTraffic(now);
      const current = candidateOf(live, label);
      if (current?.revisionName === name) return;
      // An older candidate's share goes back to the stable revisions; this one starts at 0.
      await moveTraffic(parts, arm, ref, now, withCandidate(spread(stableOf(live, label), FULL), name, label, 0), ctx);
    },

    async scale(split, ctx) {
      const total = split.stable + split.candidate;
      await share(total === 0 ? 0 : (FULL * split.candidate) / total, ctx);
    },

    async candidateHealth(ctx) {
      const { arm, ref, app } = await loaded(ctx);
      const name = app ? candidateOf(liveTraffic(app), label)?.revisionName : undefined;
      if (!name) return { healthy: false, ready: 0, total: 0, message: `${ref.what} has no candidate revision (labelled '${label}')` };
      return healthOf(await readRevision(arm, ref, name), `candidate revision ${name} of ${ref.what}`);
    },

    async promote(ctx) {
      const { arm, ref, app } = await loaded(ctx);
      if (!app) throw new ProviderError(`container-apps: ${ref.what} does not exist, so there is no candidate to promote`);
      const live = liveTraffic(app);
      const candidate = candidateOf(live, label);
      // Promoted already: the candidate's label is gone once it takes all traffic as the stable revision.
      if (!candidate) return;
      const served = [...stableOf(live, label), ...stableOf(parts.kept().found ?? [], label)];
      const retire = served.map((t) => t.revisionName).filter((n) => n !== candidate.revisionName);
      await parts.keep({ retire: [...new Set([...(parts.kept().retire ?? []), ...retire])] });
      await moveTraffic(parts, arm, ref, app, [{ revisionName: candidate.revisionName, weight: FULL }], ctx);
    },

    async retirePromoted(ctx) {
      const { arm, ref, app } = await loaded(ctx);
      if (!app) return;
      const serving = new Set(liveTraffic(app).filter((t) => t.weight > 0).map((t) => t.revisionName));
      for (const name of parts.kept().retire ?? []) if (!serving.has(name)) await deactivateIfIdle(arm, ref, name, ctx);
      await restoreForm(parts, arm, ref, ctx);
    },

    removeCandidate: (ctx) => remove(ctx, true),
  };
}

/** Deactivates a revision that is active and takes no traffic; reported. */
export async function deactivateIfIdle(arm: Arm, ref: AppRef, name: string, ctx: StepContext): Promise<void> {
  const revision = await readRevision(arm, ref, name);
  if (!revision || revision.properties?.active === false || (revision.properties?.trafficWeight ?? 0) > 0) return;
  await revisionAction(arm, ref, name, 'deactivate', ctx);
  ctx.recordChange({ object: ref.object, field: `revision ${name}`, before: 'active', after: 'inactive' });
}
