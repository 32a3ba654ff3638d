import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from '../app-server.js';
import { type ImageKind, imageFiles } from './images.js';

/*
 * A real Docker Swarm for the tests: Debian's `docker.io` daemon started as DESIGN.md says (no
 * iptables, no bridge, the vfs storage driver, its own data and exec roots and a unix socket in a
 * short temp dir), `docker swarm init` on loopback, and images made with `docker import` from a
 * root filesystem holding Debian's static busybox (no registry is reachable). Each file of tests
 * starts its own daemon; several run side by side (each swarm listens on its own port).
 *
 * Tasks run with the host's network: each version's busybox httpd takes the first free port from
 * the daemon's `portBase` on 127.0.0.1, so replicas and services never collide, and a test finds
 * what serves by asking each port of that range.
 */

const MISSING = (what: string) =>
  `${what} was not found: the swarm tests drive a real Docker daemon. Install Debian's docker.io and busybox-static packages (apt-get install docker.io busybox-static) and run the tests as root`;

/** Ports each daemon's tasks may take, from its `portBase`. */
export const PORT_RANGE = 40;

export interface SwarmDaemon {
  /** `unix:///tmp/rgsw-…/docker.sock`: what `swarm.host` or DOCKER_HOST names. */
  host: string;
  socket: string;
  dir: string;
  /** The first port tasks take on 127.0.0.1 (see `PORT_RANGE`). */
  portBase: number;
  /** The Docker CLI against this daemon; its output (fails on a non-zero exit). */
  docker(args: string[]): Promise<string>;
  /** One Engine API call, read with plain node:http (not the code under test); its JSON answer. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Imports an image `localhost:1/app:<tag>` whose server answers `GET /` with `tag` (see `ImageKind`). */
  image(tag: string, kind?: ImageKind): Promise<string>;
  /** The versions answering on the task ports now, sorted (one entry per task that serves). */
  served(): Promise<string[]>;
  /**
   * Stops the daemon, its containers and containerd, and removes the temp dir, in the background
   * unless `wait` (then resolves when all is gone). Safe to call twice.
   */
  stop(options?: { wait?: boolean }): Promise<void>;
}

/** The images' repository: a registry nothing listens on, so the pull Swarm tries first fails at once. */
export const REPOSITORY = 'localhost:1/app';

function binary(name: string, candidates: string[]): string {
  const dirs = [...candidates, ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, name))];
  const found = dirs.find((p) => p && existsSync(p));
  if (!found) throw new Error(MISSING(name));
  return found;
}

/** The watchdog the daemon runs under (see the script): it cleans up even when the test process dies. */
const WATCHDOG = fileURLToPath(new URL('./dockerd-watchdog.sh', import.meta.url));


export async function startSwarm(): Promise<SwarmDaemon> {
  const dockerd = binary('dockerd', ['/usr/sbin/dockerd', '/usr/bin/dockerd']);
  // Debian's CLI first: another docker on PATH may be newer than the daemon it talks to.
  const cli = binary('docker', ['/usr/bin/docker']);
  if (!existsSync('/bin/busybox')) throw new Error(MISSING('/bin/busybox'));
  if (process.getuid?.() !== 0) throw new Error('the swarm tests start dockerd, which needs root here: run them as root (CI runs as root)');
  // A short path: a unix socket's path holds at most 107 bytes.
  const dir = await mkdtemp('/tmp/rgsw-');
  const socket = join(dir, 'docker.sock');
  const host = `unix://${socket}`;
  const env = { PATH: `/usr/sbin:/usr/bin:/sbin:/bin`, HOME: dir };
  const log = openSync(join(dir, 'dockerd.log'), 'a');
  const flags = ['--iptables=false', '--ip6tables=false', '--bridge=none', '--storage-driver=vfs', `--data-root=${join(dir, 'data')}`, `--exec-root=${join(dir, 'exec')}`];
  // In its own process group, so that a signal to the test's group does not end it before it has cleaned up.
  const watchdog = spawn('/bin/sh', [WATCHDOG, dir, dockerd, ...flags, `--pidfile=${join(dir, 'dockerd.pid')}`, `--host=${host}`, '--log-level=warn'], {
    env,
    stdio: ['pipe', log, log],
    detached: true,
  });
  const exited = new Promise<void>((resolve) =>
    watchdog.once('exit', () => {
      closeSync(log);
      resolve();
    }),
  );

  const api = <T>(method: string, path: string, body?: unknown) => call<T>(socket, method, path, body);
  const docker = (args: string[]) => run(cli, ['-H', host, ...args], env);
  let stopping: Promise<void> | undefined;
  // Told to stop, the watchdog finishes on its own (Swarm's shutdown waits 5 s for its ingress
  // network): the tests need not wait for it, unless they ask to.
  const stop = (options: { wait?: boolean } = {}) => {
    stopping ??= (async () => {
      watchdog.stdin?.end();
      watchdog.unref();
      await exited;
    })();
    return options.wait ? stopping : Promise.resolve();
  };

  try {
    await waitForSocket(socket, exited, dir);
    const listen = await freePort();
    await docker(['swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', `127.0.0.1:${listen}`]);
    // A random range per daemon, so that daemons of test files running side by side rarely meet.
    const portBase = 20_000 + Math.floor(Math.random() * 400) * 100;
    return {
      host,
      socket,
      dir,
      portBase,
      docker,
      api,
      async image(tag, kind = 'good') {
        const rootfs = join(dir, `rootfs-${tag}`);
        await buildRootfs(rootfs, tag, kind);
        const image = `${REPOSITORY}:${tag}`;
        await run('/bin/sh', ['-c', `tar -C '${rootfs}' -c . | '${cli}' -H '${host}' import -c 'CMD ["/bin/sh","/serve"]' - '${image}'`], env);
        return image;
      },
      async served() {
        const ports = Array.from({ length: PORT_RANGE }, (_, i) => portBase + i);
        const answers = await Promise.all(ports.map((p) => get(`http://127.0.0.1:${p}/`)));
        return answers.filter((a): a is string => a !== undefined).sort();
      },
      stop,
    };
  } catch (err) {
    const tail = readTail(join(dir, 'dockerd.log'));
    await stop({ wait: true });
    throw new Error(`${(err as Error).message}\n--- dockerd.log (last lines) ---\n${tail}`, { cause: err });
  }
}

/**
 * A daemon for the tests of one file: started before them (with what \`prepare\` adds: images),
 * stopped after them, also when the start fails. The getter gives it inside tests and hooks.
 */
export function useSwarm(prepare?: (daemon: SwarmDaemon) => Promise<void>): () => SwarmDaemon {
  let daemon: SwarmDaemon | undefined;
  beforeAll(async () => {
    daemon = await startSwarm();
    await prepare?.(daemon);
  }, 120_000);
  afterAll(async () => {
    await daemon?.stop();
  }, 60_000);
  return () => {
    if (!daemon) throw new Error('the swarm daemon is not running (its start failed: see the first error)');
    return daemon;
  };
}

/** The files of one image: busybox, the server script, its health check and the page it serves. */
async function buildRootfs(root: string, tag: string, kind: ImageKind): Promise<void> {
  await rm(root, { recursive: true, force: true });
  for (const d of ['bin', 'www', 'tmp']) await mkdir(join(root, d), { recursive: true });
  await copyFile('/bin/busybox', join(root, 'bin/busybox'));
  await symlink('busybox', join(root, 'bin/sh'));
  for (const [path, file] of Object.entries(imageFiles(tag, kind))) {
    if ('from' in file) await copyFile(file.from, join(root, path));
    else await writeFile(join(root, path), file.text);
    await chmod(join(root, path), 0o755);
  }
}

/** Resolves once the daemon answers on its socket; rejects when it exits or takes 30 s. */
async function waitForSocket(socket: string, exited: Promise<void>, dir: string): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if (gone) throw new Error(`dockerd exited at start (see ${join(dir, 'dockerd.log')})`);
    const answer = await call(socket, 'GET', '/_ping').catch(() => undefined);
    if (answer?.status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('dockerd did not answer on its socket within 30 s');
}

function call<T>(socketPath: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: text ? { 'content-type': 'application/json' } : {} }, (res) => {
      let raw = '';
      res.on('data', (c: Buffer) => (raw += c.toString()));
      res.on('end', () => {
        let parsed: unknown = raw;
        try {
          parsed = raw ? JSON.parse(raw) : undefined;
        } catch {
          // plain text (the ping's OK)
        }
        resolve({ status: res.statusCode ?? 0, body: parsed as T });
      });
    });
    req.on('error', reject);
    req.end(text);
  });
}

function get(url: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 1000 }, (res) => {
      let raw = '';
      res.on('data', (c: Buffer) => (raw += c.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? raw.trim() : undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

function run(program: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${program} ${args.join(' ')} exited ${code}: ${err.trim() || out.trim()}`))));
  });
}

function readTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

