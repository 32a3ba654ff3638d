import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../app-server.js';

/*
 * A fleet of local hosts for the end-to-end tests: each host is a real HTTP server process
 * (host-server.mjs) on its own loopback port, started, replaced and stopped by host-ctl.mjs, the
 * same script the workflow's fleet target runs (`ctlCommand`). Nothing here is a double: the
 * target's commands start and kill real processes.
 */

export const HOST_CTL = join(dirname(fileURLToPath(import.meta.url)), 'host-ctl.mjs');

/** The fleet target's command for `action`, as a workflow writes it. */
export const ctlCommand = (action: string) => [process.execPath, HOST_CTL, action];

export interface HostAnswer {
  pid: number;
  version: string;
  status: number;
  body: string;
}

export interface LocalFleet {
  dir: string;
  hosts: string[];
  port(host: string): number;
  /** What serves a host's port now, or undefined when nothing does. */
  probe(host: string): Promise<HostAnswer | undefined>;
  /** Makes `version` fail its health check on `host`. */
  markBad(host: string, version: string): void;
  /** The calls host-ctl.mjs logged: `<action> <host> <version> <previous state>`. */
  calls(): string[][];
  /** Runs host-ctl.mjs as the target would; rejects with its output when it fails. */
  ctl(action: string, host: string, env?: Record<string, string>): Promise<void>;
  /** Stops every host's server. */
  stop(): Promise<void>;
}

function signal(pid: number, name: NodeJS.Signals): void {
  // Only a pid a host server said is its own: never 0 or 1.
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/** `count` hosts named web-01…, each serving `version`, with their ports under `<dir>/hosts/`. */
export async function startLocalFleet(dir: string, count: number, version: string): Promise<LocalFleet> {
  const hosts = Array.from({ length: count }, (_, i) => `web-${String(i + 1).padStart(2, '0')}`);
  const ports = new Map<string, number>();
  for (const host of hosts) {
    let port = await freePort();
    // Two free ports asked one after the other may be the same one.
    while ([...ports.values()].includes(port)) port = await freePort();
    ports.set(host, port);
    mkdirSync(join(dir, 'hosts', host), { recursive: true });
    writeFileSync(join(dir, 'hosts', host, 'port'), String(port));
  }
  appendFileSync(join(dir, 'calls.log'), '');
  const fleet: LocalFleet = {
    dir,
    hosts,
    port: (host) => ports.get(host) as number,
    async probe(host) {
      try {
        const res = await fetch(`http://127.0.0.1:${fleet.port(host)}/health`, { signal: AbortSignal.timeout(2000) });
        return { pid: Number(res.headers.get('x-pid')), version: res.headers.get('x-version') ?? '', status: res.status, body: (await res.text()).trim() };
      } catch {
        return undefined;
      }
    },
    markBad: (host, bad) => writeFileSync(join(dir, 'hosts', host, `bad-${bad}`), ''),
    calls: () =>
      readFileSync(join(dir, 'calls.log'), 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.split(' ')),
    ctl: (action, host, env = {}) =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [HOST_CTL, action], {
          env: { PATH: process.env.PATH ?? '', FLEET_DIR: dir, ROLLGATE_HOST: host, ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        child.stdout.on('data', (c: Buffer) => (output += c.toString()));
        child.stderr.on('data', (c: Buffer) => (output += c.toString()));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`host-ctl ${action} ${host} exited ${String(code)}: ${output}`))));
      }),
    async stop() {
      // Whatever serves each port goes, however it got there (SIGKILL when SIGTERM is not enough).
      await Promise.all(
        hosts.map(async (host) => {
          const deadline = Date.now() + 10_000;
          for (let r = await fleet.probe(host); r && Date.now() < deadline; r = await fleet.probe(host)) {
            signal(r.pid, Date.now() + 5000 < deadline ? 'SIGTERM' : 'SIGKILL');
            await new Promise((done) => setTimeout(done, 50));
          }
        }),
      );
    },
  };
  try {
    await Promise.all(hosts.map((host) => fleet.ctl('deploy', host, { ROLLGATE_VERSION: version })));
  } catch (err) {
    await fleet.stop();
    throw err;
  }
  return fleet;
}
