import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { appendFile, chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { freePort } from '../app-server.js';

/*
 * A real PostgreSQL server for the tests: Debian's binaries, a fresh cluster (`initdb`) in a temp
 * dir, listening on 127.0.0.1 on a free port and on a unix socket in that dir, with roles that
 * log in by SCRAM-SHA-256, md5 and cleartext password, and a database owned by the SCRAM role.
 *
 * PostgreSQL refuses to run as root. When the tests run as root (CI containers), every server
 * program runs as the `postgres` system user that Debian's package creates (or `nobody`), through
 * spawn's uid/gid options rather than su/runuser (no PAM, no login shell, nothing to configure),
 * and the temp dir is created in a world-searchable place and given to that user.
 */

export interface PgRole {
  name: string;
  password: string;
}

export interface PostgresServer {
  host: '127.0.0.1';
  port: number;
  /** The directory holding the server's unix socket (local connections are trusted). */
  socketDir: string;
  /** Roles by how pg_hba.conf makes them log in over TCP. */
  roles: { scram: PgRole; md5: PgRole; cleartext: PgRole };
  /** A database owned by the SCRAM role. */
  database: string;
  /** The server's certificate when started with TLS: self-signed, for the name localhost only (not 127.0.0.1). */
  certFile: string | undefined;
  /** Runs SQL as the superuser over the unix socket (psql, not the code under test); its output. */
  sql(text: string, database?: string): Promise<string>;
  /** Stops the server (fast shutdown) and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

const ADMIN = 'rg_admin';
const MISSING = "PostgreSQL's server programs (initdb, pg_ctl, psql) were not found in /usr/lib/postgresql/*/bin or on PATH: install Debian's `postgresql` package (apt-get install postgresql)";

/** The directory of initdb, pg_ctl and psql: Debian's versioned dir (15 first), else PATH. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => (a === '15' ? -1 : b === '15' ? 1 : Number(b) - Number(a))) : [];
  const dirs = [...versions.map((v) => join(root, v, 'bin')), ...(process.env.PATH ?? '').split(delimiter)];
  const found = dirs.find((d) => d && ['initdb', 'pg_ctl', 'psql'].every((p) => existsSync(join(d, p))));
  if (!found) throw new Error(MISSING);
  return found;
}

/** Who the server programs run as: ourselves, or a system user when we are root. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':'));
  const entry = passwd.find((f) => f[0] === 'postgres') ?? passwd.find((f) => f[0] === 'nobody');
  if (!entry) throw new Error('running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as (install Debian\'s `postgresql` package)');
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

/** os.tmpdir() when every ancestor lets others through, else /tmp: the server user must reach its dir. */
function baseDir(asOther: boolean): string {
  const base = tmpdir();
  if (!asOther) return base;
  let dir = base;
  for (;;) {
    if ((statSync(dir).mode & 0o001) === 0) return '/tmp';
    const parent = dirname(dir);
    if (parent === dir) return base;
    dir = parent;
  }
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function startPostgres(options: { tls?: boolean } = {}): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const user = serverUser();
  const dir = await mkdtemp(join(baseDir(user !== undefined), `rollgate-pg-`));
  const data = join(dir, 'data');
  const socketDir = join(dir, 'sock');
  await mkdir(socketDir);
  if (user) await chown(dir, user.uid, user.gid);
  if (user) await chown(socketDir, user.uid, user.gid);
  const env = { PATH: `${bin}${delimiter}/usr/bin:/bin`, HOME: dir, LC_ALL: 'C', TZ: 'UTC' };

  const run = (program: string, args: string[], timeoutMs = 30_000) =>
    new Promise<Ran>((resolve, reject) => {
      const child = spawn(join(bin, program), args, { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, ...(user ?? {}) });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
  const must = async (program: string, args: string[]) => {
    const r = await run(program, args);
    if (r.code !== 0) throw new Error(`${program} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  };

  let port = 0;
  let running = false;
  const pgCtlStop = (mode: string) => ['-D', data, '-m', mode, '-w', '-t', '20', 'stop'];
  const onExit = () => {
    if (running) spawnSync(join(bin, 'pg_ctl'), pgCtlStop('immediate'), { env, stdio: 'ignore', ...(user ?? {}) });
  };
  const stop = async () => {
    process.removeListener('exit', onExit);
    if (running) {
      running = false;
      const r = await run('pg_ctl', pgCtlStop('fast'));
      if (r.code !== 0) killPostmaster(data);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await must('initdb', ['-D', data, '-U', ADMIN, '-A', 'trust', '--no-locale', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    const roles = { scram: role('rg_app'), md5: role('rg_md5'), cleartext: role('rg_plain') };
    await writeFile(
      join(data, 'pg_hba.conf'),
      [
        'local all all trust',
        `host all ${roles.md5.name} 127.0.0.1/32 md5`,
        `host all ${roles.cleartext.name} 127.0.0.1/32 password`,
        // A method rollgate does not speak (Kerberos): the role need not exist for the server to ask.
        'host all rg_gss 127.0.0.1/32 gss',
        'host all all 127.0.0.1/32 scram-sha-256',
        '',
      ].join('\n'),
    );
    const certFile = options.tls ? await makeCertificate(data, user) : undefined;
    // A port another process takes between freePort() and the start is retried on a new one.
    for (let attempt = 1; !running; attempt++) {
      port = await freePort();
      await appendFile(join(data, 'postgresql.conf'), serverSettings(port, socketDir, certFile !== undefined));
      const r = await run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '30', 'start']);
      if (r.code === 0) running = true;
      else if (attempt === 3) throw new Error(`pg_ctl start failed 3 times: ${r.stderr.trim()}\n${readLog(dir)}`);
    }
    process.once('exit', onExit);
    const sql = async (text: string, database = 'postgres') =>
      (await must('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', socketDir, '-p', String(port), '-U', ADMIN, '-d', database, '-c', text])).trim();
    const database = 'rg_appdb';
    await sql(
      [
        `CREATE ROLE ${roles.scram.name} LOGIN PASSWORD '${roles.scram.password}'`,
        `CREATE ROLE ${roles.cleartext.name} LOGIN PASSWORD '${roles.cleartext.password}'`,
        `SET password_encryption = 'md5'`,
        `CREATE ROLE ${roles.md5.name} LOGIN PASSWORD '${roles.md5.password}'`,
      ].join(';\n'),
    );
    await sql(`CREATE DATABASE ${database} OWNER ${roles.scram.name}`);
    return { host: '127.0.0.1', port, socketDir, roles, database, certFile, sql, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function role(name: string): PgRole {
  // base64url: no quote or backslash, so it goes into SQL text as it is.
  return { name, password: `pw-${randomBytes(12).toString('base64url')}` };
}

function serverSettings(port: number, socketDir: string, tls: boolean): string {
  const lines = [
    '',
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${socketDir}'`,
    "password_encryption = 'scram-sha-256'",
    // A throwaway cluster: durability costs time and buys nothing here.
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    'max_connections = 60',
    'shared_buffers = 16MB',
    ...(tls ? ['ssl = on', "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'"] : []),
    '',
  ];
  return lines.join('\n');
}

/** A self-signed certificate for the name localhost (not its address), made by openssl, in the data dir. */
async function makeCertificate(data: string, user: { uid: number; gid: number } | undefined): Promise<string> {
  const cert = join(data, 'server.crt');
  const key = join(data, 'server.key');
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', key, '-out', cert],
    { encoding: 'utf8' },
  );
  if (r.error || r.status !== 0) throw new Error(`openssl could not make a test certificate (install Debian's \`openssl\` package): ${r.error?.message ?? r.stderr}`);
  await chmod(key, 0o600);
  if (user) for (const f of [cert, key]) await chown(f, user.uid, user.gid);
  return cert;
}

/** When pg_ctl cannot stop it: the postmaster we started, by the pid it wrote. */
function killPostmaster(data: string): void {
  try {
    const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'server.log'), 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}
