import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { carriedPreload, EXAMPLES, NODE24, offlinePreload, requireBuild, run, STANDALONE, SYSTEM_NODE, SYSTEM_NODE_VERSION, tempDir, VERSION } from './support.js';

/*
 * The self-contained CLI, dist/rollgate.mjs, copied ALONE into an empty folder (no node_modules,
 * no package.json anywhere above it) and run with nothing but Node, under the Node running the
 * tests (20.19+) and under Node 24.
 */

beforeEach(requireBuild);

/** The copy, in a folder with nothing above it that Node could resolve a package from. */
function alone(): string {
  const dir = tempDir('rollgate-standalone-');
  copyFileSync(STANDALONE, join(dir, 'rollgate.mjs'));
  for (let d = dir; d !== dirname(d); d = dirname(d)) {
    expect(existsSync(join(d, 'node_modules')), `${d}/node_modules would make this test meaningless`).toBe(false);
    expect(existsSync(join(d, 'package.json')), `${d}/package.json would make this test meaningless`).toBe(false);
  }
  return dir;
}

const env = (extra: Record<string, string> = {}): Record<string, string> => ({ PATH: process.env.PATH ?? '', HOME: tempDir(), NO_COLOR: '1', ...extra });

describe('dist/rollgate.mjs: the file', () => {
  // That it imports nothing but Node's builtins, the build checks in its metafile, and the
  // tests below prove by running it alone.
  it('starts with #!/usr/bin/env node and is executable', () => {
    expect(readFileSync(STANDALONE, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(statSync(STANDALONE).mode & 0o111).toBe(0o111);
  });

  it('runs by itself (shebang, executable bit): ./rollgate.mjs --version', async () => {
    const dir = alone();
    const r = await run(join(dir, 'rollgate.mjs'), ['--version'], { cwd: dir, env: env() });
    expect(r).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });
});

describe.each([
  [`the machine's node (${SYSTEM_NODE_VERSION})`, SYSTEM_NODE],
  ['node 24', NODE24],
])('dist/rollgate.mjs alone, with only %s', (_name, node) => {
  const cli = (dir: string, args: string[], extra: Record<string, string> = {}) => run(node, ['rollgate.mjs', ...args], { cwd: dir, env: env(extra) });

  it('--version and --help: the version fixed at build time, no package.json needed', async () => {
    const dir = alone();
    expect(await cli(dir, ['--version'])).toMatchObject({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    const help = await cli(dir, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: rollgate <command> [options]');
  });

  it('validate and plan a sim workflow', async () => {
    const dir = alone();
    copyFileSync(join(EXAMPLES, 'sim-pipeline.yml'), join(dir, 'sim-pipeline.yml'));
    const validate = await cli(dir, ['validate', 'sim-pipeline.yml']);
    expect(validate).toMatchObject({ code: 0, stderr: '' });
    expect(validate.stdout).toContain('sim-pipeline.yml: valid (workflow web: 2 stages');
    const plan = await cli(dir, ['plan', 'sim-pipeline.yml', '--json']);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('web-production');
  });

  it('run to a gate (3), resume --approve (0), audit verify and audit report', async () => {
    const dir = alone();
    copyFileSync(join(EXAMPLES, 'approval-gate.yml'), join(dir, 'approval-gate.yml'));
    const first = await cli(dir, ['run', 'approval-gate.yml', '--actor', 'alice']);
    expect(first.code, first.stderr).toBe(3);
    expect(first.stdout).toContain('paused');

    const resumed = await cli(dir, ['resume', '--approve', '--by', 'bob', '--comment', 'staging looks fine']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('approved by bob: staging looks fine');

    const verify = await cli(dir, ['audit', 'verify', '.rollgate/audit']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^intact: \d+ entries in 1 file\(s\)/);

    const runId = readdirSync(join(dir, '.rollgate/audit'))[0]?.replace(/\.jsonl$/, '') ?? '';
    const report = await cli(dir, ['audit', 'report', '--run', runId]);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain(runId);
    expect(report.stdout).toContain('bob');
  });

  it('a failing canary rolls back (1); resume --reject rolls a gate back (1)', async () => {
    const dir = alone();
    copyFileSync(join(EXAMPLES, 'canary.yml'), join(dir, 'canary.yml'));
    copyFileSync(join(EXAMPLES, 'approval-gate.yml'), join(dir, 'approval-gate.yml'));
    const bad = await cli(dir, ['run', 'canary.yml', '--input', 'version=v3', '--state', 'canary.json']);
    expect(bad.code, bad.stderr).toBe(1);
    expect(bad.stdout).toContain('rolled back');

    expect((await cli(dir, ['run', 'approval-gate.yml'])).code).toBe(3);
    const rejected = await cli(dir, ['resume', '--reject', '--by', 'carol', '--comment', 'not today']);
    expect(rejected.code).toBe(1);
    expect(rejected.stdout).toContain('rejected by carol (not today)');
  });
});

describe('dist/rollgate.mjs: the heavy SDKs are inside, and evaluated only by what uses them', () => {
  /*
   * The Teams bot SDK (and GitLab's client) is carried as text and compiled on first use: the
   * preload reports each compile. The Teams SDK also announces itself with DEBUG=agents:*, its
   * telemetry saying whether the optional OpenTelemetry peers (absent here) were found.
   */
  const plain = `version: 1
name: plain
inputs: { version: { default: v2 } }
environments: { staging: {} }
sim: { services: { web: { version: v1 } } }
stages:
  - { name: staging, environment: staging, target: { type: sim, service: web } }
`;
  const teams = `${plain}notifications:
  - type: teams-bot
    appId: 00000000-0000-0000-0000-000000000000
    tenantId: 00000000-0000-0000-0000-000000000001
    conversation: { serviceUrl: "https://127.0.0.1:9/", id: "19:abc@thread.tacv2" }
    serviceHosts: ["127.0.0.1"]
    timeout: 2s
`;
  const runWith = (dir: string, file: string, extra: Record<string, string>) =>
    run(SYSTEM_NODE, ['--import', offlinePreload(dir), '--import', carriedPreload(dir), 'rollgate.mjs', 'run', file], { cwd: dir, env: env({ DEBUG: 'agents:*', ...extra }) });

  it('a workflow without a Teams bot (or GitLab approver) never compiles or evaluates them', async () => {
    const dir = alone();
    writeFileSync(join(dir, 'plain.yml'), plain);
    const r = await runWith(dir, 'plain.yml', {});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('carried:');
    expect(r.stderr).not.toContain('agents:');
  });

  it('a teams-bot notifier loads the SDK from the file alone; the absent OpenTelemetry peers only switch telemetry off', async () => {
    const dir = alone();
    writeFileSync(join(dir, 'teams.yml'), teams);
    const r = await runWith(dir, 'teams.yml', { TEAMS_APP_PASSWORD: 'not-a-secret' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/^carried: .*$/gm)).toEqual([`carried: ${join(dir, 'rollgate.mjs')}#@microsoft/agents-hosting`]);
    expect(r.stderr).toContain('agents:telemetry:warn OpenTelemetry API not found');
    expect(r.stderr).toContain('Telemetry settings loaded');
    // Offline: the token request fails, which a notifier reports and the rollout ignores.
    expect(r.stderr).toMatch(/notifier teams-bot .* not delivered: Teams bot .*Entra did not issue a token \(network_error\)/);
    expect(r.stderr).not.toMatch(/Cannot find (module|package)|ERR_MODULE_NOT_FOUND|internal error/);
  });
});
