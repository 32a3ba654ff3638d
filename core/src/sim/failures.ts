import { type ConfigIssue, ProviderError } from '../errors.js';
import { type FailureSpec, SIM_COMPENSATIONS, type SIM_OPERATIONS, type SimConfig } from './config.js';
import { nodeIndex } from './nodes.js';

export type SimOperation = (typeof SIM_OPERATIONS)[number];
const COMPENSATIONS: ReadonlySet<string> = new Set(SIM_COMPENSATIONS);

/** What an injected failure has used up; saved with the world so a resumed run does not replay it. */
export interface FailureState {
  /** Calls left to fail (api-errors, compensation-fails); `null` means always. */
  left?: number | null;
  /** A timed failure (node-crash, database-down) has happened. */
  fired?: boolean;
}

type FailureOf<K extends FailureSpec['kind']> = Extract<FailureSpec, { kind: K }>;
/** A failure that happens once, at its time, rather than on a call. */
export type TimedFailure = FailureOf<'node-crash' | 'database-down' | 'migration-applied'>;

/** The failures of `config.failures` as they play out over one world's lifetime. */
export interface Failures {
  /**
   * Applies partition, api-errors and compensation-fails to one call of `operation`, consuming
   * their counters. Throws `ProviderError`; returns when the call may go ahead.
   */
  guard(operation: SimOperation, subject?: string): void;
  /** The longest `slow-probe` delay matching any of `names`. */
  probeDelay(names: readonly (string | undefined)[]): number;
  /** The timed failures whose time has come, marked as fired so each is returned once. */
  due(): readonly TimedFailure[];
  /** Copies of the counters, one per failure, in config order. */
  save(): FailureState[];
}

const STATUS_TEXT = { 429: 'rate limited', 500: 'internal server error', 503: 'service unavailable' } as const;
const NONE_DUE: readonly TimedFailure[] = Object.freeze([]);

function atOf(f: { at?: number | undefined }): number {
  return f.at ?? 0;
}

/** Problems in a sim config that the schema cannot see (node names that do not exist). */
export function simConfigIssues(config: SimConfig, path = 'sim'): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  config.failures.forEach((f, i) => {
    if (f.kind !== 'node-crash') return;
    const where = `${path}.failures[${i}]`;
    if (f.node !== undefined && nodeIndex(f.node, config.nodes) === undefined) {
      issues.push({
        path: `${where}.node`,
        message: `${f.node} is not a node of the simulation: it has ${config.nodes} node${config.nodes === 1 ? '' : 's'} (node-1..node-${config.nodes})`,
      });
    }
    if (f.count > config.nodes) {
      issues.push({ path: `${where}.count`, message: `cannot crash ${f.count} nodes: the simulation has ${config.nodes}` });
    }
  });
  return issues;
}

/**
 * Tracks `failures` on the world's timeline (`elapsed`), continuing the counters of `saved` when
 * the world is restored.
 */
export function createFailures(failures: readonly FailureSpec[], elapsed: () => number, saved?: readonly FailureState[]): Failures {
  let counters: FailureState[] = failures.map((f) =>
    f.kind === 'api-errors' ? { left: f.count } : f.kind === 'compensation-fails' ? { left: f.count ?? null } : {},
  );
  // Counters are kept per failure; a failure list edited since the save starts fresh past the old ones.
  if (saved) counters = counters.map((c, i) => (saved[i] ? { ...c, ...saved[i] } : c));

  // Precomputed failure lists, so the per-call work is a short loop over the relevant kinds only.
  const indexed = failures.map((f, i) => ({ f, i }));
  const apiErrors = indexed.filter((x): x is { f: FailureOf<'api-errors'>; i: number } => x.f.kind === 'api-errors');
  const compensation = indexed.filter((x): x is { f: FailureOf<'compensation-fails'>; i: number } => x.f.kind === 'compensation-fails');
  const partitions = failures.filter((f): f is FailureOf<'partition'> => f.kind === 'partition');
  const slowProbes = failures.filter((f): f is FailureOf<'slow-probe'> => f.kind === 'slow-probe');
  const timed = indexed.filter(
    (x): x is { f: TimedFailure; i: number } => x.f.kind === 'node-crash' || x.f.kind === 'database-down' || x.f.kind === 'migration-applied',
  );

  // Timed failures are applied lazily by whoever calls `due`; remembering the next one keeps that O(1) when nothing is due.
  let nextEventAt = Infinity;
  const planNext = () => {
    nextEventAt = Infinity;
    for (const { f, i } of timed) if (!counters[i]?.fired) nextEventAt = Math.min(nextEventAt, atOf(f));
  };
  planNext();

  return {
    guard(operation, subject) {
      const t = elapsed();
      const what = `${operation}${subject ? ` of ${subject}` : ''}`;
      for (const p of partitions) {
        const from = atOf(p);
        if (t >= from && t < from + p.duration) {
          throw new ProviderError(
            `sim: control plane unreachable (network partition) during ${what}; it heals ${Math.ceil((from + p.duration - t) / 1000)}s from now, retry then`,
            { retryable: true },
          );
        }
      }
      for (const { f, i } of apiErrors) {
        const c = counters[i] as FailureState;
        if ((f.operation !== 'any' && f.operation !== operation) || !c.left || t < atOf(f)) continue;
        c.left--;
        // Every injected status is transient: 429 is a rate limit, 500 and 503 are 5xx answers that
        // a retry may get past, so all three are retryable.
        throw new ProviderError(`sim: ${STATUS_TEXT[f.status]} (${f.status}) on ${what}; retry later`, { retryable: true });
      }
      if (COMPENSATIONS.has(operation)) {
        for (const { f, i } of compensation) {
          const c = counters[i] as FailureState;
          if ((f.operation !== 'any' && f.operation !== operation) || c.left === 0) continue;
          if (typeof c.left === 'number') c.left--;
          throw new ProviderError(`sim: ${what} failed (injected compensation failure); undo it by hand`, { retryable: false });
        }
      }
    },

    probeDelay(names) {
      let delay = 0;
      for (const f of slowProbes) if (f.probe === undefined || names.includes(f.probe)) delay = Math.max(delay, f.delay);
      return delay;
    },

    due() {
      if (elapsed() < nextEventAt) return NONE_DUE;
      const t = elapsed();
      const fired: TimedFailure[] = [];
      for (const { f, i } of timed) {
        const c = counters[i] as FailureState;
        if (c.fired || atOf(f) > t) continue;
        c.fired = true;
        fired.push(f);
      }
      planNext();
      return fired;
    },

    save: () => counters.map((c) => ({ ...c })),
  };
}
