import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { activeWorkers, masterPid, serving } from '../../../core/src/routers/nginx/workers.js';
import { freePort } from '../app-server.js';

/**
 * A real nginx (Debian's `nginx` package) on a free 127.0.0.1 port, with its prefix, config, pid
 * file, logs and temp folders in a temp dir, in the foreground (`daemon off`) in its own process
 * group, so `stop()` ends the master and its workers even when a test failed. Its one site proxies
 * `/` to the upstream that `upstream.conf` (the file a router owns) defines.
 */
export interface NginxServer {
  dir: string;
  port: number;
  url: string;
  binary: string;
  /** What every nginx command of this instance takes before -t / -s: prefix, error log, config. */
  args: string[];
  conf: string;
  pidFile: string;
  upstreamFile: string;
  /** Rewrites upstream.conf as someone else would, reloads, and waits until nginx serves it. */
  replaceUpstream(text: string): Promise<void>;
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

const CANDIDATES = ['/usr/sbin/nginx', '/usr/bin/nginx'];

/** The nginx binary, or an error that says which Debian package to install: these tests never skip. */
export function nginxBinary(): string {
  const found = CANDIDATES.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!found) throw new Error(`nginx is not installed (looked for ${CANDIDATES.join(', ')}): install the Debian package \`nginx\` (apt-get install nginx)`);
  return found;
}

export async function startNginx(opts: { upstream: string; upstreamText: string; workers?: number }): Promise<NginxServer> {
  const binary = nginxBinary();
  const dir = await mkdtemp(join(tmpdir(), 'rollgate-nginx-'));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  const pidFile = join(dir, 'nginx.pid');
  const upstreamFile = join(dir, 'upstream.conf');
  const log = join(dir, 'error.log');
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) await mkdir(join(dir, 'tmp', sub), { recursive: true });
  await writeFile(upstreamFile, opts.upstreamText);
  await writeFile(
    conf,
    [
      `worker_processes ${opts.workers ?? 2};`,
      `pid ${pidFile};`,
      `error_log ${log} notice;`,
      'events { worker_connections 1024; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `  ${k}_temp_path ${join(dir, 'tmp', k === 'client_body' ? 'body' : k)};`),
      `  include ${upstreamFile};`,
      '  server {',
      `    listen 127.0.0.1:${port};`,
      `    location / { proxy_pass http://${opts.upstream}; }`,
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  const args = ['-p', `${dir}/`, '-e', log, '-c', conf];
  let output = '';
  const child: ChildProcess = spawn(binary, [...args, '-g', 'daemon off;'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));

  const stop = async () => {
    if (!gone && child.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      const killer = setTimeout(() => {
        try {
          process.kill(-(child.pid as number), 'SIGKILL');
        } catch {
          // Already gone.
        }
      }, 5000);
      await exited;
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const ready = async () => {
    const workers = await masterPid(pidFile).then(activeWorkers, () => []);
    return workers.length > 0 && (await canConnect(port));
  };
  try {
    await until(ready, () => gone, () => `nginx did not start on 127.0.0.1:${port}:\n${output}`);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    dir,
    port,
    url: `http://127.0.0.1:${port}`,
    binary,
    args,
    conf,
    pidFile,
    upstreamFile,
    async replaceUpstream(text) {
      const master = await masterPid(pidFile);
      const before = new Set((await activeWorkers(master)).map((w) => w.pid));
      await writeFile(upstreamFile, text);
      const { mtimeMs } = await stat(upstreamFile);
      const reloaded = spawnSync(binary, [...args, '-s', 'reload'], { encoding: 'utf8' });
      if (reloaded.status !== 0) throw new Error(`nginx -s reload failed: ${reloaded.stderr}`);
      await until(async () => serving(await activeWorkers(master), mtimeMs, before), () => gone, () => 'nginx did not reload');
    },
    errorLog: () => (existsSync(log) ? readFile(log, 'utf8') : Promise.resolve('')),
    stop,
  };
}

/** Polls `check` every 20 ms for at most 10 s; fails at once when `dead()` says the server exited. */
async function until(check: () => Promise<boolean>, dead: () => boolean, why: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (await check()) return;
    if (dead() || Date.now() > deadline) throw new Error(why());
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
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
