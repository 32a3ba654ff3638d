import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { createRealClock, FileRunStore, loadWorkflowFile, runWorkflow, type RunEvent } from '../../../core/src/index.js';
import { type LocalFleet, startLocalFleet } from '../fleet/local-fleet.js';

/*
 * A LocalFleet (tests/real/fleet) whose hosts run app-host.mjs, the version server that a proxy
 * test needs (metrics, failing requests, graceful stop), through app-host-ctl.mjs: the fleet's own
 * layout, probe and stop are reused; only the server process differs.
 */

export const APP_HOST_CTL = join(dirname(fileURLToPath(import.meta.url)), 'app-host-ctl.mjs');

/** The fleet target's command for `action`, as a workflow writes it. */
export const ctlCommand = (action: string) => [process.execPath, APP_HOST_CTL, action];

export interface AppFleet extends LocalFleet {
  /** `host:port` of each host, in order. */
  addresses: string[];
  /** Makes `version` fail this share of its requests from its next start on. */
  failRate(version: string, rate: number): Promise<void>;
  /** Makes `version`'s health check fail from `ms` after each start of it on. */
  sickAfter(version: string, ms: number): Promise<void>;
  /** Runs app-host-ctl.mjs as the target would. */
  appCtl(action: string, host: string, env?: Record<string, string>): Promise<void>;
  /** The version each host serves now (`none` when nothing answers). */
  versions(): Promise<Record<string, string>>;
}

export async function startAppFleet(dir: string, count: number, version: string): Promise<AppFleet> {
  const fleet = await startLocalFleet(dir, count, version);
  const appCtl = (action: string, host: string, env: Record<string, string> = {}) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [APP_HOST_CTL, action], {
        env: { PATH: process.env.PATH ?? '', FLEET_DIR: dir, ROLLGATE_HOST: host, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`app-host-ctl ${action} ${host} exited ${String(code)}: ${output}`))));
    });
  const app: AppFleet = Object.assign(fleet, {
    addresses: fleet.hosts.map((h) => `127.0.0.1:${fleet.port(h)}`),
    failRate: (v: string, rate: number) => writeFile(join(dir, `fail-${v}`), String(rate)),
    sickAfter: (v: string, ms: number) => writeFile(join(dir, `sick-${v}`), String(ms)),
    appCtl,
    async versions() {
      const answers = await Promise.all(fleet.hosts.map(async (h) => [h, (await fleet.probe(h))?.version ?? 'none'] as const));
      return Object.fromEntries(answers);
    },
  });
  try {
    // host-server.mjs (what startLocalFleet starts) becomes app-host.mjs, same version.
    await Promise.all(fleet.hosts.map((h) => appCtl('deploy', h, { ROLLGATE_VERSION: version })));
  } catch (err) {
    await fleet.stop();
    throw err;
  }
  return app;
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
