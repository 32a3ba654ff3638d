import { ProviderError } from '../../errors.js';
import type { HealthReport } from '../../model/results.js';
import type { StepContext } from '../../ports/step-context.js';
import type { CandidateTarget } from '../../ports/target.js';
import { ensureRevision, planRevision, type RevisionConfig } from './revisions.js';
import { readyOf, type RunService } from './service.js';
import { allTo, candidateEntry, pinnedOf, refuseTheirs, setShare, setTraffic } from './share.js';
import { explicit, split, type TrafficEntry } from './traffic.js';

/*
 * The candidates capability of the cloud-run target. The candidate is a revision of the same
 * service, started with no traffic and tagged (default `candidate`: Cloud Run then serves it at
 * https://candidate---SERVICE…run.app, the preview of a blue-green). Cloud Run scales instances by
 * itself, so "replicas" mean percent here: the full scale is 100, and `scale` sets the candidate's
 * share of the traffic (a canary without a router splits traffic exactly, not by replicas).
 * Promoting sends all traffic to the candidate and drops its tag; removing it sends the traffic
 * back as rollgate found it and keeps the revision (Cloud Run keeps revisions).
 */

/** What the target keeps in the journal, before each change it may have to undo. */
export interface Kept {
  /** rollgate created the service (a first deploy, or a first candidate): undoing that deletes it. */
  created?: 'deploy' | 'candidate';
  /** Every revision rollgate deployed: a revert moves traffic only off those, never off someone else's. */
  wrote?: string[];
  /** The traffic before the candidate was added: what removing it puts back. */
  found?: TrafficEntry[];
  /** The candidate revision and its version. */
  candidate?: { revision: string; version: string };
  /** Whether the service's traffic named revisions before rollgate first wrote it (else it followed LATEST, and does again after a promotion). */
  pinned?: boolean;
}

export interface CandidateParts {
  config: RevisionConfig & { candidateTag: string; create: boolean };
  service(ctx: StepContext): Promise<RunService>;
  kept(): Kept;
  keep(more: Kept): Promise<void>;
  /** Creates the service with `version` as its only revision (a first deploy), kept as created first. */
  createWith(version: string, tag: string | undefined, ctx: StepContext): Promise<void>;
}

/** The entries of `traffic` that are not the candidate's. */
export const withoutTag = (traffic: TrafficEntry[], tag: string) => traffic.filter((t) => t.tag !== tag);

export function cloudRunCandidates(parts: CandidateParts): CandidateTarget {
  const { config } = parts;
  const tag = config.candidateTag;

  return {
    // Cloud Run scales instances itself: a share is counted in percent, of 100.
    fullScale: () => Promise.resolve(100),

    async deployCandidate(version, _replicas, ctx) {
      const service = await parts.service(ctx);
      const live = await service.read(ctx);
      if (!live) {
        await parts.createWith(version, tag, ctx);
        return;
      }
      const present = candidateEntry(live, tag);
      const kept = parts.kept();
      if (present?.revision === kept.candidate?.revision && kept.candidate?.version === version) {
        // Started already (a retried step, a resumed run): it must still be Ready.
        await service.awaitReady(present?.revision as string, ctx);
        return;
      }
      const plan = await planRevision(service, config, version, ctx);
      if (!plan) throw new ProviderError(`cloud-run target: the ${service.label} does not exist`);
      // Kept before the change: a later process puts this traffic back when it removes the candidate.
      // Another candidate's entry (a run that left it) goes; the others share all the traffic, as they did.
      const next = (traffic: TrafficEntry[]) => split(traffic, { revision: plan.name, tag }, 0);
      const found = kept.candidate?.version === version && kept.found ? kept.found : withoutTag(next(explicit(live.traffic, live.latestReadyRevision)), tag);
      await parts.keep({ found, candidate: { revision: plan.name, version }, wrote: [...new Set([...(kept.wrote ?? []), plan.name])], pinned: kept.pinned ?? pinnedOf(live) });
      await ensureRevision(service, config, version, plan, next, ctx);
      ctx.recordChange({ object: service.label, field: 'candidate', before: present?.revision ?? null, after: plan.name });
    },

    async scale(split, ctx) {
      const total = split.stable + split.candidate;
      const percent = total === 0 ? 0 : Math.round((split.candidate * 100) / total);
      await setShare(await parts.service(ctx), tag, percent, parts.kept().found, 'cloud-run target', ctx, parts.kept().wrote ?? []);
    },

    async candidateHealth(ctx): Promise<HealthReport> {
      const service = await parts.service(ctx);
      const live = await service.read(ctx);
      const name = (live && candidateEntry(live, tag)?.revision) ?? parts.kept().candidate?.revision;
      if (!name) return { healthy: false, ready: 0, total: 1, message: `the ${service.label} has no candidate revision (tagged '${tag}')` };
      const r = await service.revision(name, ctx);
      const ready = r ? readyOf(r) : undefined;
      const healthy = ready?.state === 'CONDITION_SUCCEEDED';
      return { healthy, ready: healthy ? 1 : 0, total: 1, ...(healthy ? {} : { message: `revision ${name}: ${ready?.message ?? ready?.state ?? 'does not exist'}` }) };
    },

    async promote(ctx) {
      const service = await parts.service(ctx);
      const candidate = parts.kept().candidate;
      const live = await service.read(ctx);
      const name = (live && candidateEntry(live, tag)?.revision) ?? candidate?.revision;
      if (!name) throw new ProviderError(`cloud-run target: the ${service.label} has no candidate revision (tagged '${tag}') to promote`);
      // Someone else's tags stay, at no share; the candidate's tag goes with the candidate's role.
      // LATEST when the candidate is the latest revision and the service followed LATEST before.
      const done = await setTraffic(
        service,
        (live, s) => {
          const { found, wrote, pinned } = parts.kept();
          // A hotfix someone else gave traffic during the rollout is not taken off silently by the promotion either.
          if (found) refuseTheirs('cloud-run target', service, live, [...found.map((t) => t.revision), ...(wrote ?? []), name], `promote revision ${name}`);
          return [...withoutTag(live, tag).filter((t) => t.tag && t.revision !== name).map((t) => ({ ...t, percent: 0 })), allTo(name, s, pinned)];
        },
        `promote revision ${name}`,
        ctx,
      );
      if (!done) throw new ProviderError(`cloud-run target: the ${service.label} does not exist`);
    },

    async removeCandidate(ctx) {
      const service = await parts.service(ctx);
      const kept = parts.kept();
      if (kept.created === 'candidate') {
        if (await service.remove(ctx)) ctx.recordChange({ object: service.label, field: 'created', before: 'present', after: null });
        return;
      }
      const live = await service.read(ctx);
      if (!live || !candidateEntry(live, tag)) return;
      const back = (traffic: TrafficEntry[]): TrafficEntry[] => {
        if (kept.found) {
          const candidate = traffic.find((t) => t.tag === tag)?.revision;
          refuseTheirs('cloud-run target', service, traffic, [...kept.found.map((t) => t.revision), ...(kept.wrote ?? []), candidate], 'put back the traffic it found');
          return kept.found;
        }
        // Nothing kept (someone else's candidate): the others share all the traffic, as they did.
        const candidate = traffic.find((t) => t.tag === tag) as TrafficEntry;
        return split(traffic, { revision: candidate.revision ?? '', tag }, 0).filter((t) => t.tag !== tag);
      };
      await setTraffic(service, back, 'remove the candidate revision', ctx);
    },
  };
}
