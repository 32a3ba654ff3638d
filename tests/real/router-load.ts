import { get } from 'node:http';

/**
 * A load generator for the router tests: `concurrency` loops of plain HTTP GETs through a proxy,
 * each on a new connection (no keep-alive, so every request meets the routing as it is when it
 * starts), paced to about `rate` requests per second in all. Every request is filed under the
 * phase that was current when it started, with its status and `x-app-version`; a connection error
 * or a timeout counts as a failure like a non-200 answer.
 */
export interface PhaseCounts {
  requests: number;
  /** Non-200 answers and connection errors. */
  failed: number;
  /** Answers by `x-app-version` (or `status NNN` / `error CODE` when there is none). */
  versions: Record<string, number>;
}

export interface LoadGenerator {
  /** Files the requests that start from now on under `name`. */
  phase(name: string): void;
  /** Resolves once `count` requests started in the current phase have ended. */
  completed(count: number): Promise<void>;
  counts(): Record<string, PhaseCounts>;
  stop(): Promise<void>;
}

export function startLoad(url: string, opts: { rate?: number; concurrency?: number; timeoutMs?: number } = {}): LoadGenerator {
  const concurrency = opts.concurrency ?? 4;
  const gapMs = (1000 * concurrency) / (opts.rate ?? 300);
  const timeoutMs = opts.timeoutMs ?? 5000;
  const phases: Record<string, PhaseCounts> = {};
  let current = 'start';
  let running = true;
  const waiters = new Set<() => void>();

  const record = (phase: string, outcome: string, ok: boolean) => {
    const counts = (phases[phase] ??= { requests: 0, failed: 0, versions: {} });
    counts.requests += 1;
    if (!ok) counts.failed += 1;
    counts.versions[outcome] = (counts.versions[outcome] ?? 0) + 1;
    for (const wake of waiters) wake();
  };

  const once = (phase: string) =>
    new Promise<void>((resolve) => {
      const req = get(url, { agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
        const version = res.headers['x-app-version'];
        const outcome = typeof version === 'string' ? version : `status ${res.statusCode}`;
        res.resume();
        res.on('end', () => {
          record(phase, outcome, res.statusCode === 200);
          resolve();
        });
        res.on('error', (err: NodeJS.ErrnoException) => {
          record(phase, `error ${err.code ?? err.message}`, false);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'TIMEOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => {
        record(phase, `error ${err.code ?? err.message}`, false);
        resolve();
      });
    });

  const loop = async () => {
    while (running) {
      const started = performance.now();
      await once(current);
      const rest = gapMs - (performance.now() - started);
      // Pacing, not synchronisation: it keeps the rate near `rate`.
      if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
    }
  };
  const loops = Array.from({ length: concurrency }, loop);

  return {
    phase(name) {
      current = name;
    },
    completed(count) {
      const phase = current;
      return new Promise<void>((resolve, reject) => {
        const deadline = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the load generator did not complete ${count} requests in phase ${phase} within 20s`));
        }, 20_000);
        const check = () => {
          if ((phases[phase]?.requests ?? 0) < count) return;
          clearTimeout(deadline);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      });
    },
    counts: () => structuredClone(phases),
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}
