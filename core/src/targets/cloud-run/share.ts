import { ProviderError } from '../../errors.js';
import type { StepContext } from '../../ports/step-context.js';
import type { RunService, RunServiceBody } from './service.js';
import { describeTraffic, explicit, sameTraffic, split, type TrafficEntry } from './traffic.js';

/*
 * The candidate's share of a Cloud Run service's traffic: what both the target's `scale` (a canary
 * without a router) and the cloud-run router set. The candidate is the revision whose traffic entry
 * carries the candidate tag; the other revisions share the rest as they did when rollgate found
 * them (`found`), or as they do now.
 */

/** The candidate's entry (by tag) in the service's traffic spec, LATEST pinned. */
export function candidateEntry(s: RunServiceBody, tag: string): TrafficEntry | undefined {
  return explicit(s.traffic, s.latestReadyRevision).find((t) => t.tag === tag);
}

/**
 * Sends `percent` of the traffic to the candidate revision, the rest to the other revisions in the
 * proportions of `found` (default: the live ones). Reports the change; changes nothing when the
 * split is already so. Throws when there is no candidate and `percent` is above 0.
 */
export async function setShare(service: RunService, tag: string, percent: number, found: TrafficEntry[] | undefined, who: string, ctx: StepContext): Promise<void> {
  const written = await service.write(
    (s) => {
      const live = explicit(s.traffic, s.latestReadyRevision);
      const candidate = live.find((t) => t.tag === tag);
      if (!candidate?.revision) {
        if (percent === 0) return undefined;
        throw new ProviderError(
          `${who}: the ${service.label} has no revision tagged '${tag}', so there is no candidate to send ${percent}% to; the cloud-run target tags the revision it starts in a canary or blue-green stage`,
        );
      }
      const next = split(found ?? live, { revision: candidate.revision, tag }, percent);
      return sameTraffic(next, live) ? undefined : { ...s, traffic: next };
    },
    `send ${percent}% of the traffic to the candidate`,
    ctx,
  );
  if (!written) throw new ProviderError(`${who}: the ${service.label} does not exist`);
  if (written.after !== written.before) {
    ctx.recordChange({ object: service.label, field: 'traffic', before: describeTraffic(explicit(written.before.traffic, written.before.latestReadyRevision)), after: describeTraffic(written.after.traffic ?? []) });
  }
}

/** Writes `traffic` as the service's traffic (when it differs) and reports it; `false` when the service does not exist. */
export async function setTraffic(service: RunService, traffic: (live: TrafficEntry[]) => TrafficEntry[], what: string, ctx: StepContext): Promise<boolean> {
  const written = await service.write(
    (s) => {
      const live = explicit(s.traffic, s.latestReadyRevision);
      const next = traffic(live);
      return sameTraffic(next, live) && !(s.traffic ?? []).some((t) => t.type !== 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION') ? undefined : { ...s, traffic: next };
    },
    what,
    ctx,
  );
  if (!written) return false;
  const before = explicit(written.before.traffic, written.before.latestReadyRevision);
  if (written.after !== written.before && !sameTraffic(before, written.after.traffic ?? [])) {
    ctx.recordChange({ object: service.label, field: 'traffic', before: describeTraffic(before), after: describeTraffic(written.after.traffic ?? []) });
  }
  return true;
}
