import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createRealClock, FileRunStore, loadWorkflowFile, runWorkflow, type RunEvent } from '../../../core/src/index.js';
import { ctlCommand, type LocalFleet, startLocalFleet } from '../fleet/local-fleet.js';

/*
 * A LocalFleet (tests/real/fleet) with what a proxy test adds: each host's address, and the knobs
 * that make a version fail requests or turn sick after its start.
 */

export { ctlCommand };

export interface AppFleet extends LocalFleet {
  /** `host:port` of each host, in order. */
  addresses: string[];
  /** Makes `version` fail this share of its requests from its next start on. */
  failRate(version: string, rate: number): Promise<void>;
  /** Makes `version`'s health check fail from `ms` after each start of it on. */
  sickAfter(version: string, ms: number): Promise<void>;
  /** The version each host serves now (`none` when nothing answers). */
  versions(): Promise<Record<string, string>>;
}

export async function startAppFleet(dir: string, count: number, version: string): Promise<AppFleet> {
  const fleet = await startLocalFleet(dir, count, version);
  return Object.assign(fleet, {
    addresses: fleet.hosts.map((h) => `127.0.0.1:${fleet.port(h)}`),
    failRate: (v: string, rate: number) => writeFile(join(dir, `fail-${v}`), String(rate)),
    sickAfter: (v: string, ms: number) => writeFile(join(dir, `sick-${v}`), String(ms)),
    async versions() {
      const answers = await Promise.all(fleet.hosts.map(async (h) => [h, (await fleet.probe(h))?.version ?? 'none'] as const));
      return Object.fromEntries(answers);
    },
  });
}

export interface E2ERun {
  outcome: Awaited<ReturnType<typeof runWorkflow>>;
  events: RunEvent[];
  /** The events of one kind, typed. */
  of<K extends RunEvent['kind']>(kind: K): Array<Extract<RunEvent, { kind: K }>>;
  store: FileRunStore;
}

/** Writes `doc` as `<dir>/<file>` and runs it through the public API on the real clock. */
export async function runE2E(dir: string, file: string, doc: Record<string, unknown>, env: Record<string, string>, onEvent?: (e: RunEvent) => void): Promise<E2ERun> {
  const path = join(dir, file);
  await writeFile(path, stringify(doc));
  const loaded = await loadWorkflowFile(path);
  const events: RunEvent[] = [];
  const store = new FileRunStore(join(dir, `${file}.journal.json`));
  const outcome = await runWorkflow({
    loaded,
    store,
    context: { actor: 'alice', ci: 'local' },
    clock: createRealClock(),
    env: { PATH: process.env.PATH ?? '', FLEET_DIR: dir, ...env },
    subscribers: [(e) => events.push(e), ...(onEvent ? [onEvent] : [])],
  });
  const of = <K extends RunEvent['kind']>(kind: K) => events.filter((e): e is Extract<RunEvent, { kind: K }> => e.kind === kind);
  return { outcome, events, of, store };
}
