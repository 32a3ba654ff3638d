import { ProviderError } from '../../errors.js';
import type { ProviderState } from '../../ports/provider-state.js';
import type { StepContext } from '../../ports/step-context.js';
import type { CandidateTarget } from '../../ports/target.js';
import { eachHost, throwFailures } from './each.js';
import { healthOf } from './health.js';
import type { HostCommands, HostVersion } from './host-commands.js';

/*
 * Canary and blue-green on a fleet: a host runs one version at a time, so the candidate is a set
 * of hosts moved to the new version (the first ones in rollout order) while the others keep the
 * stable one. What a later process needs to undo it (which hosts run the candidate, what each ran
 * before) is kept in the run journal before any host changes.
 */

/** The candidate as the journal keeps it. `previous` omits hosts whose version was unknown. */
export interface CandidateRecord {
  version: string;
  hosts: string[];
  previous: Record<string, string | null>;
}

/** The provider state of a fleet target. */
export interface FleetState {
  candidate?: CandidateRecord | undefined;
  /** The hosts a probe gave (`hostsFrom`), kept for the rest of the run. */
  hosts?: string[];
}

/** Changes part of the fleet's state, keeping the rest (the hosts a probe gave). */
function keep(state: ProviderState, change: FleetState): Promise<void> {
  return state.put({ ...(state.get() as FleetState | null | undefined), ...change } satisfies FleetState);
}

export interface CandidateDeps {
  hosts(ctx: StepContext): Promise<string[]>;
  commands: HostCommands;
  state: ProviderState;
  width: number;
}

/** The candidate kept in the journal, if any. */
export function candidateOf(state: ProviderState): CandidateRecord | undefined {
  const kept = state.get() as FleetState | null | undefined;
  return kept?.candidate ?? undefined;
}

/** What a candidate host ran before: `undefined` when rollgate could not tell. */
export function previousOn(candidate: CandidateRecord, host: string): HostVersion {
  return Object.hasOwn(candidate.previous, host) ? candidate.previous[host] : undefined;
}

export function fleetCandidates({ hosts, commands, state, width }: CandidateDeps): CandidateTarget {
  /** Reverts candidate hosts to what they ran before; every host is tried. */
  const putBack = async (candidate: CandidateRecord, which: readonly string[], ctx: StepContext) => {
    const { failures } = await eachHost(which, width, (h) => commands.revert(h, previousOn(candidate, h), ctx), { stopOnFailure: false });
    throwFailures(`reverting the candidate ${candidate.version}`, failures, which.length);
  };

  /** Makes the first `count` hosts run `version` as the candidate, and puts the others back. */
  const moveTo = async (version: string, count: number, ctx: StepContext) => {
    const all = await hosts(ctx);
    const want = all.slice(0, count);
    const kept = candidateOf(state);
    const candidate: CandidateRecord = { version, hosts: [...(kept?.hosts ?? [])], previous: { ...kept?.previous } };
    const joining = want.filter((h) => !candidate.hosts.includes(h));
    const leaving = candidate.hosts.filter((h) => !want.includes(h));
    const { results, failures } = await eachHost(joining, width, (h) => commands.version(h, ctx), { stopOnFailure: true });
    throwFailures('reading the versions before the candidate', failures, joining.length);
    for (const h of joining) {
      const before = results.get(h);
      if (before !== undefined) candidate.previous[h] = before;
      candidate.hosts.push(h);
    }
    // Written before any host changes: a later process must know which hosts to put back.
    if (joining.length > 0 || kept?.version !== version) await keep(state, { candidate });
    const deployed = await eachHost(want, width, (h) => commands.deploy(h, version, ctx), { stopOnFailure: true });
    throwFailures(`starting the candidate ${version}`, deployed.failures, want.length);
    if (leaving.length === 0) return;
    await putBack(candidate, leaving, ctx);
    const remaining = candidate.hosts.filter((h) => !leaving.includes(h));
    const previous = Object.fromEntries(Object.entries(candidate.previous).filter(([h]) => remaining.includes(h)));
    await keep(state, { candidate: { version, hosts: remaining, previous } });
  };

  return {
    async fullScale(ctx) {
      return (await hosts(ctx)).length;
    },

    async deployCandidate(version, replicas, ctx) {
      const total = (await hosts(ctx)).length;
      // The stable version keeps at least one host until the promotion (a fleet of one has no room).
      const count = Math.max(0, Math.min(replicas, total > 1 ? total - 1 : total));
      if (count < replicas) ctx.log.info(`fleet: candidate ${version} on ${count} of ${total} hosts (asked for ${replicas}; one host keeps the stable version until the promotion)`);
      await moveTo(version, count, ctx);
    },

    async scale(split, ctx) {
      const kept = candidateOf(state);
      if (!kept) {
        if (split.candidate <= 0) return;
        throw new ProviderError(`fleet target of stage ${ctx.stage}: no candidate to scale to ${split.candidate} host(s); start one first (deployCandidate)`);
      }
      await moveTo(kept.version, Math.max(0, Math.min(split.candidate, (await hosts(ctx)).length)), ctx);
    },

    async candidateHealth(ctx) {
      const candidate = candidateOf(state);
      if (!candidate || candidate.hosts.length === 0) return { healthy: false, ready: 0, total: 0, message: 'no host runs a candidate' };
      return healthOf(candidate.hosts, commands, width, () => Promise.resolve(candidate.version), ctx);
    },

    async promote(ctx) {
      const candidate = candidateOf(state);
      if (!candidate) {
        ctx.log.info('fleet: no candidate to promote (already promoted)');
        return;
      }
      // The candidate hosts already run it (deployed and checked): promoting redeploys only the
      // others, so the hosts carrying the traffic now are not restarted under it.
      const rest = (await hosts(ctx)).filter((h) => !candidate.hosts.includes(h));
      const { failures } = await eachHost(rest, width, (h) => commands.deploy(h, candidate.version, ctx), { stopOnFailure: true });
      throwFailures(`promoting ${candidate.version}`, failures, rest.length);
      // Kept until every host runs it, so a promotion cut short is finished by a retry.
      await keep(state, { candidate: undefined });
    },

    async removeCandidate(ctx) {
      const candidate = candidateOf(state);
      if (!candidate) return;
      await putBack(candidate, candidate.hosts, ctx);
      await keep(state, { candidate: undefined });
    },
  };
}
