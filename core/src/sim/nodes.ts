import { ProviderError } from '../errors.js';

/** 0-based index of `node-K` among `count` nodes, or undefined. */
export function nodeIndex(name: string, count: number): number | undefined {
  const m = /^node-(\d+)$/.exec(name);
  if (!m) return undefined;
  const k = Number(m[1]);
  return k >= 1 && k <= count ? k - 1 : undefined;
}

/**
 * The nodes of a simulated cluster, which of them are crashed, and where replicas land: replica
 * `i` runs on node `i mod count` (round-robin from node-1), so placement is arithmetic rather
 * than a table, which keeps 10,000-node fleets cheap.
 */
export interface NodeSet {
  readonly count: number;
  /** 0-based indices of the crashed nodes, in the order they crashed. */
  readonly down: ReadonlySet<number>;
  /** Names of every node, node-1..node-N (built once, on first use). */
  names(): readonly string[];
  /** Crashes the node at a 0-based index; a crashed one is left alone. */
  markDown(index: number): void;
  /** Brings back the node at a 0-based index. */
  markUp(index: number): void;
  /**
   * How many of `replicas` sit on ready nodes. `avoid` lists the nodes (0-based, ascending) that
   * were down when the replicas were placed: a scheduler puts none there, so they spread over the
   * others (round-robin in node order), and only nodes that crashed since then take replicas down.
   */
  onUp(replicas: number, avoid?: readonly number[]): number;
  /** The crashed nodes now, 0-based and ascending: what a new placement avoids. */
  avoidNow(): number[] | undefined;
  /** 0-based index of a node given by name (node-3) or 1-based number. Throws `ProviderError` for any other value. */
  toIndex(node: string | number): number;
  /** Names of up to `limit` crashed nodes, optionally only those below `below` (the ones hosting replicas). */
  downNames(limit: number, below?: number): string[];
}

/** A node set of `count` nodes, with `down` (0-based indices) already crashed. */
export function createNodeSet(count: number, down: Iterable<number> = []): NodeSet {
  const crashed = new Set<number>(down);
  // Bumped on every crash or recovery, so cached placement counts know when they are stale.
  let rev = 0;
  const onDownCache = new Map<number, { rev: number; count: number }>();
  let names: string[] | undefined;
  // O(crashed) once per change of the crashed set; services with the same replica count share the result.
  const onDown = (replicas: number): number => {
    if (crashed.size === 0 || replicas === 0) return 0;
    const hit = onDownCache.get(replicas);
    if (hit && hit.rev === rev) return hit.count;
    const base = Math.floor(replicas / count);
    const extra = replicas % count;
    let n = base * crashed.size;
    if (extra > 0) for (const j of crashed) if (j < extra) n++;
    if (onDownCache.size > 64) onDownCache.clear();
    onDownCache.set(replicas, { rev, count: n });
    return n;
  };

  // Replicas placed round-robin over the nodes not in `avoid`, lost on those crashed since.
  const onDownAvoiding = (replicas: number, avoid: readonly number[]): number => {
    const usable = count - avoid.length;
    if (usable <= 0) return replicas;
    if (crashed.size === 0 || replicas === 0) return 0;
    const base = Math.floor(replicas / usable);
    const extra = replicas % usable;
    let n = 0;
    for (const c of crashed) {
      const before = below(avoid, c);
      if (avoid[before] === c) continue; // never placed there
      n += base + (c - before < extra ? 1 : 0);
    }
    return n;
  };

  return {
    count,
    down: crashed,
    names: () => (names ??= Array.from({ length: count }, (_, i) => `node-${i + 1}`)),
    markDown(index) {
      if (!crashed.has(index)) {
        crashed.add(index);
        rev++;
      }
    },
    markUp(index) {
      if (crashed.delete(index)) rev++;
    },
    onUp: (replicas, avoid) => (avoid && avoid.length > 0 ? replicas - onDownAvoiding(replicas, avoid) : replicas - onDown(replicas)),
    avoidNow: () => (crashed.size === 0 ? undefined : [...crashed].sort((a, b) => a - b)),
    toIndex(node) {
      const i = typeof node === 'number' ? (Number.isInteger(node) && node >= 1 && node <= count ? node - 1 : undefined) : nodeIndex(node, count);
      if (i === undefined) throw new ProviderError(`sim: ${String(node)} is not a node (node-1..node-${count})`);
      return i;
    },
    downNames(limit, below = count) {
      const names: string[] = [];
      if (limit <= 0) return names;
      for (const j of crashed) {
        if (j >= below) continue;
        names.push(`node-${j + 1}`);
        if (names.length >= limit) break;
      }
      return names;
    },
  };
}

/** How many entries of the ascending list `sorted` are below `value` (binary search). */
function below(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
