import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../app-server.js';

/**
 * A real HAProxy (Debian's `haproxy` package) on a free 127.0.0.1 port, in the foreground (`-db`)
 * in its own process group, its config and admin sockets (a unix socket, and a TCP one for the
 * tests of `host:port`) in a temp dir. One frontend sends `/` to backend `app`, whose servers the
 * test names. `restart()` stops it and starts it again from the same config: what a reload does to
 * runtime changes (they are lost).
 */
export interface HaproxyServer {
  dir: string;
  port: number;
  url: string;
  /** The unix admin socket (`level admin`). */
  socket: string;
  /** The TCP admin socket, as host:port. */
  tcpSocket: string;
  /** A socket at `level user`, which may read but not change anything. */
  userSocket: string;
  cfg: string;
  /** One Runtime API command, answered as text. */
  command(line: string): Promise<string>;
  /** Stops HAProxy and leaves it stopped (its socket gone) until `restart()`. */
  halt(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface BackendServer {
  name: string;
  port: number;
  weight: number;
}

const CANDIDATES = ['/usr/sbin/haproxy', '/usr/bin/haproxy'];

/** The haproxy binary, or an error that says which Debian package to install: these tests never skip. */
export function haproxyBinary(): string {
  const found = CANDIDATES.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!found) throw new Error(`HAProxy is not installed (looked for ${CANDIDATES.join(', ')}): install the Debian package \`haproxy\` (apt-get install haproxy)`);
  return found;
}

export async function startHaproxy(opts: { servers: BackendServer[] }): Promise<HaproxyServer> {
  const binary = haproxyBinary();
  const dir = await mkdtemp(join(tmpdir(), 'rollgate-haproxy-'));
  const [port, adminPort] = [await freePort(), await freePort()];
  const socket = join(dir, 'admin.sock');
  const cfg = join(dir, 'haproxy.cfg');
  await writeFile(
    cfg,
    [
      'global',
      `  stats socket ${socket} level admin`,
      `  stats socket ipv4@127.0.0.1:${adminPort} level admin`,
      `  stats socket ${join(dir, 'user.sock')} level user`,
      'defaults',
      '  mode http',
      '  timeout connect 2s',
      '  timeout client 30s',
      '  timeout server 30s',
      'frontend web',
      `  bind 127.0.0.1:${port}`,
      '  default_backend app',
      'backend app',
      '  balance roundrobin',
      ...opts.servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port} weight ${s.weight}`),
      '',
    ].join('\n'),
  );

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let gone = true;
  let output = '';

  const halt = async () => {
    const running = child;
    if (!running?.pid || gone) return;
    try {
      process.kill(-running.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
    const killer = setTimeout(() => {
      try {
        process.kill(-(running.pid as number), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, 5000);
    await exited;
    clearTimeout(killer);
  };

  const command = (line: string) =>
    new Promise<string>((resolve, reject) => {
      let answer = '';
      const conn = connect(socket);
      conn.on('connect', () => conn.end(`${line}\n`));
      conn.on('data', (d: Buffer) => (answer += d.toString()));
      conn.on('close', () => resolve(answer));
      conn.on('error', reject);
    });

  const launch = async () => {
    output = '';
    gone = false;
    const started = spawn(binary, ['-f', cfg, '-db'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    started.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    started.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    exited = new Promise<void>((resolve) => started.once('exit', () => resolve()));
    void exited.then(() => (gone = true));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const info = await command('show info').catch(() => '');
      if (info.includes(`Pid: ${started.pid}`) && (await canConnect(port))) return;
      if (gone || Date.now() > deadline) {
        await halt();
        throw new Error(`HAProxy did not start on 127.0.0.1:${port}:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  await launch().catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });

  return {
    dir,
    port,
    url: `http://127.0.0.1:${port}`,
    socket,
    tcpSocket: `127.0.0.1:${adminPort}`,
    userSocket: join(dir, 'user.sock'),
    cfg,
    command,
    halt,
    async restart() {
      await halt();
      await launch();
    },
    async stop() {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
