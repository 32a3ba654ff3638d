import { ProviderError } from '../../errors.js';
import type { StepContext } from '../../ports/step-context.js';
import type { RunService, RunServiceBody } from './service.js';
import { describeTraffic, explicit, LATEST, sameTraffic, shortName, split, type TrafficEntry } from './traffic.js';

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
 * Refuses to write traffic rollgate kept over a revision that someone else gave traffic during the
 * rollout (`gcloud run services update-traffic` to a hotfix while a canary paused): writing the kept
 * split back would take that traffic away silently. `ours`: the revisions rollgate found or wrote.
 */
export function refuseTheirs(who: string, service: RunService, live: TrafficEntry[], ours: Iterable<string | undefined>, doing: string): void {
  const known = new Set(ours);
  const theirs = live.filter((t) => (t.percent ?? 0) > 0 && !known.has(t.revision));
  if (theirs.length === 0) return;
  const { project, region, service: id } = service.where;
  throw new ProviderError(
    `${who}: the ${service.label} sends ${theirs.map((t) => `${t.percent ?? 0}% to revision ${t.revision ?? '?'}`).join(', ')}, which rollgate neither found there nor deployed: someone else changed its traffic during the rollout, so rollgate does not ${doing} over it; check it (gcloud run services describe ${id} --region ${region} --project ${project}), then set the traffic by hand (gcloud run services update-traffic ${id}) or move it back to what rollgate left and run again`,
  );
}

/**
 * Sends `percent` of the traffic to the candidate revision, the rest to the other revisions in the
 * proportions of `found` (default: the live ones). Reports the change; changes nothing when the
 * split is already so. Throws when there is no candidate and `percent` is above 0, and when a
 * revision neither in `found` nor in `wrote` has traffic (someone else's: see refuseTheirs).
 */
export async function setShare(service: RunService, tag: string, percent: number, found: TrafficEntry[] | undefined, who: string, ctx: StepContext, wrote: string[] = []): Promise<void> {
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
      if (found) refuseTheirs(who, service, live, [...found.map((t) => t.revision), ...wrote, candidate.revision], `send ${percent}% to the candidate`);
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

/**
 * Writes `traffic` as the service's traffic (when it differs) and reports it; `false` when the
 * service does not exist. `traffic` is given the live spec with LATEST pinned, and the service; it
 * may answer a LATEST entry (a promoted revision that is the latest one: later deploys follow).
 */
export async function setTraffic(service: RunService, traffic: (live: TrafficEntry[], s: RunServiceBody) => TrafficEntry[], what: string, ctx: StepContext): Promise<boolean> {
  const written = await service.write(
    (s) => {
      const live = explicit(s.traffic, s.latestReadyRevision);
      const next = traffic(live, s);
      const same = next.some((t) => t.type === LATEST)
        ? sameTraffic(next, (s.traffic ?? []).filter((t) => (t.percent ?? 0) > 0 || t.tag))
        : sameTraffic(next, live) && !(s.traffic ?? []).some((t) => t.type !== 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION');
      return same ? undefined : { ...s, traffic: next };
    },
    what,
    ctx,
  );
  if (!written) return false;
  const before = explicit(written.before.traffic, written.before.latestReadyRevision);
  if (written.after !== written.before && !sameTraffic(before, written.after.traffic ?? [])) {
    const latest = shortName(written.after.latestCreatedRevision);
    const after = (written.after.traffic ?? []).map((t) => (t.type === LATEST ? { ...t, revision: `${latest ?? 'latest'} (latest)` } : t));
    ctx.recordChange({ object: service.label, field: 'traffic', before: describeTraffic(before), after: describeTraffic(after) });
  }
  return true;
}

/**
 * The entry that gives `revision` all the traffic: LATEST when it is the latest revision created and
 * the service did not have its traffic pinned before rollgate touched it (so a later `gcloud run
 * deploy` gets the traffic, as it did before rollgate), else the revision by name.
 */
export function allTo(revision: string, s: RunServiceBody, pinned: boolean | undefined): TrafficEntry {
  if (pinned === false && shortName(s.latestCreatedRevision) === revision) return { type: LATEST, percent: 100 };
  return { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision, percent: 100 };
}

/** Whether the service's traffic names revisions (someone pinned it), rather than following LATEST. */
export const pinnedOf = (s: RunServiceBody): boolean => (s.traffic ?? []).length > 0 && !(s.traffic ?? []).some((t) => t.type === LATEST && (t.percent ?? 0) > 0);
