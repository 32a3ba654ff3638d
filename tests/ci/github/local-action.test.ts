import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFakeGitHub, unzip, type FakeGitHub } from './fake-github.js';
import { ROOT, workspace } from './support.js';

/*
 * The action through GitHub's own local runner for actions, @github/local-action: it reads
 * action.yml, loads the `.env` file as the step's environment, stubs @actions/core, github and
 * artifact, imports action/src/main.ts (and post.ts) and calls their exported `run()`. The
 * sources run here (through tsx), not the bundle: this checks the entry points' shape (an
 * exported run() that does not also run on import), the inputs as action.yml declares them, and
 * the toolkit calls against GitHub's stubs.
 */
const run = promisify(execFile);
const BIN = join(ROOT, 'node_modules/@github/local-action/bin/local-action.js');

const WORKFLOW = (dir: string) => `version: 1
name: local
inputs:
  version: { default: v2 }
environments:
  staging: { url: https://staging.example.com }
  production: {}
sim:
  services:
    web: { version: v1 }
stages:
  - name: staging
    environment: staging
    target: { type: sim, service: web }
  - name: production
    environment: production
    needs: [staging]
    approval: { type: manual }
    target: { type: sim, service: web }
audit:
  sinks: [{ type: file, dir: ${dir}/audit }]
`;

let gh: FakeGitHub;
let dir: string;
beforeAll(async () => {
  gh = await startFakeGitHub();
  dir = await workspace('rollgate-local-action-');
  mkdirSync(join(dir, 'artifacts'));
  writeFileSync(join(dir, 'wf.yml'), WORKFLOW(dir));
  writeFileSync(join(dir, 'summary.md'), '');
  // Paths are absolute: local-action runs with the repository as its working directory.
  const env = {
    'INPUT_WORKFLOW': join(dir, 'wf.yml'),
    'INPUT_STATE-PATH': join(dir, 'run.json'),
    'INPUT_TOKEN': gh.token,
    'INPUT_INPUTS': 'version: v2',
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: 'acme/web',
    GITHUB_RUN_ID: '4242',
    GITHUB_JOB: 'staging',
    GITHUB_SHA: 'c0ffee0000000000000000000000000000000000',
    GITHUB_ACTOR: 'pusher',
    GITHUB_API_URL: gh.apiUrl,
    GITHUB_STEP_SUMMARY: join(dir, 'summary.md'),
    // local-action's artifact stub stores the artifact in this folder; the two ACTIONS_* values
    // only tell the action that an artifact service is there.
    LOCAL_ACTION_ARTIFACT_PATH: join(dir, 'artifacts'),
    LOCAL_ACTION_WORKSPACE: dir,
    ACTIONS_RUNTIME_TOKEN: 'local',
    ACTIONS_RESULTS_URL: 'http://localhost/',
  };
  writeFileSync(join(dir, '.env'), Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n'));
});
afterAll(async () => gh.close());

it('runs main and post through @github/local-action: paused at the gate, deployment recorded, artifact stored', async () => {
  const { stdout } = await run(process.execPath, [BIN, 'run', ROOT, 'action/src/main.ts', join(dir, '.env'), '--post', 'action/src/post.ts'], {
    cwd: ROOT,
    // GITHUB_API_URL in the process environment too: local-action's Octokit stub reads it when
    // it is imported, before the .env file is loaded (it would call api.github.com otherwise).
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', GITHUB_API_URL: gh.apiUrl },
    maxBuffer: 16 * 1024 * 1024,
  });
  const outputs = Object.fromEntries([...stdout.matchAll(/^::set-output name=([\w-]+)::(.*)$/gm)].map((m) => [m[1], m[2]]));
  expect(outputs).toMatchObject({ result: 'paused', 'exit-code': '3', 'paused-gate': 'production/approval-production', 'artifact-name': 'rollgate-audit-staging-1' });
  // main ran once: exactly one run started (the module did not also run itself on import).
  expect([...stdout.matchAll(/▶ run \S+ of local started by pusher/g)]).toHaveLength(1);
  expect(stdout).not.toMatch(/::error::/);
  expect(gh.deployments.map((d) => [d.environment, d.statuses.map((s) => s.state)])).toEqual([['staging', ['in_progress', 'success']]]);
  expect(readFileSync(join(dir, 'summary.md'), 'utf8')).toContain('paused at `production/approval-production`');
  const zip = join(dir, 'artifacts', 'rollgate-audit-staging-1.zip');
  expect(existsSync(zip)).toBe(true);
  expect([...unzip(readFileSync(zip)).keys()].sort()).toEqual([`audit/${outputs['run-id']}.jsonl`, 'run.json']);
}, 120_000);
