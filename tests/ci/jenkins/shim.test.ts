import { copyFileSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binDir, JENKINS_ENV, recorded, shim, SHIM, SYSTEM_NODE, tempDir, VERSION, writeFakeCli, type Result } from './support.js';

/*
 * jenkins-shim/rollgate.sh run with bash and a Jenkins build's variables, against a fake CLI that
 * records its argv and environment: the exact invocation, which CLI is chosen, the exit codes
 * passed through, and each error the shim itself reports.
 */

interface Setup {
  dir: string;
  record: string;
  env: Record<string, string>;
}

/** A workspace, a PATH with only node on it, and the fake CLI named by ROLLGATE_CLI. */
function setup(extra: Record<string, string> = {}): Setup {
  const dir = tempDir();
  const record = join(dir, 'record.json');
  const fake = writeFakeCli(join(dir, 'fake/rollgate.mjs'));
  const env = { PATH: binDir({ node: SYSTEM_NODE }), ...JENKINS_ENV, ROLLGATE_CLI: fake, FAKE_RECORD: record, ...extra };
  return { dir, record, env };
}

async function invoke(s: Setup, args: string[], script?: string): Promise<Result & { argv: string[] | undefined }> {
  const result = await shim(args, { cwd: s.dir, env: s.env, ...(script ? { script } : {}) });
  return { ...result, argv: recorded(s.record)?.argv };
}

describe('jenkins-shim/rollgate.sh: the CLI invocation', () => {
  it('maps BUILD_USER_ID to --actor for run, right after the command, and passes every argument as it is', async () => {
    const s = setup();
    const r = await invoke(s, ['run', 'rollgate.yml', '--env', 'production', '--input', 'version=v2 with spaces']);
    expect(r.code).toBe(0);
    expect(r.argv).toEqual(['run', '--actor', 'alice', 'rollgate.yml', '--env', 'production', '--input', 'version=v2 with spaces']);
    expect(recorded(s.record)?.script).toBe(s.env.ROLLGATE_CLI);
  });

  it('does the same for resume, keeping the approver and a comment with quotes and $ intact', async () => {
    const s = setup();
    const comment = `LGTM; "ship" it's $(touch pwned) \`id\``;
    const r = await invoke(s, ['resume', '--approve', '--by', 'bob', '--comment', comment]);
    expect(r.argv).toEqual(['resume', '--actor', 'alice', '--approve', '--by', 'bob', '--comment', comment]);
  });

  it('leaves the other Jenkins variables in the environment, unchanged, and adds none', async () => {
    const s = setup();
    await invoke(s, ['run', 'rollgate.yml']);
    const env = recorded(s.record)?.env ?? {};
    for (const [name, value] of Object.entries(JENKINS_ENV)) expect(env[name], name).toBe(value);
    // bash exports PWD, SHLVL and _ to what it runs; nothing else may appear.
    const added = Object.keys(env).filter((k) => !(k in s.env) && !['PWD', 'SHLVL', '_', 'OLDPWD'].includes(k));
    expect(added).toEqual([]);
  });

  it('adds no --actor without BUILD_USER_ID (the CLI then records the Jenkins default)', async () => {
    const s = setup({ BUILD_USER_ID: '' });
    expect((await invoke(s, ['run', 'rollgate.yml'])).argv).toEqual(['run', 'rollgate.yml']);
  });

  it('adds no --actor to the commands that record no actor (validate, plan, audit, --version)', async () => {
    const s = setup();
    for (const args of [['validate', 'w.yml'], ['plan', 'w.yml', '--json'], ['audit', 'verify', '.rollgate/audit'], ['--version']]) {
      expect((await invoke(s, args)).argv).toEqual(args);
    }
  });

  it('lets an --actor in the arguments win: it comes later, and the CLI keeps the last', async () => {
    const s = setup();
    expect((await invoke(s, ['run', 'w.yml', '--actor', 'deploy-bot'])).argv).toEqual(['run', '--actor', 'alice', 'w.yml', '--actor', 'deploy-bot']);
  });

  it.each([0, 1, 2, 3, 4, 5, 6, 130])('passes exit code %i through unchanged', async (code) => {
    const s = setup({ FAKE_EXIT: String(code) });
    const r = await invoke(s, ['run', 'rollgate.yml']);
    expect(r.code).toBe(code);
    expect(r.stderr).toBe('');
  });
});

describe('jenkins-shim/rollgate.sh: which CLI', () => {
  /** The shim copied into its own folder, with a fake CLI in each place it may look. */
  function places(): Setup & { script: string; alone: string; beside: string; onPath: string; npx: string; bin: string } {
    const s = setup();
    const script = join(s.dir, 'shim/rollgate.sh');
    writeFakeCli(join(s.dir, 'shim/rollgate.mjs'));
    copyFileSync(SHIM, script);
    // A copy with no rollgate.mjs beside it.
    const alone = join(s.dir, 'alone/rollgate.sh');
    mkdirSync(join(s.dir, 'alone'));
    copyFileSync(SHIM, alone);
    const tools = { rollgate: writeFakeCli(join(s.dir, 'tools/rollgate'), true), npx: writeFakeCli(join(s.dir, 'tools/npx'), true) };
    const bin = binDir({ node: SYSTEM_NODE, ...tools });
    return { ...s, env: { ...s.env, PATH: bin }, script, alone, beside: join(s.dir, 'shim/rollgate.mjs'), onPath: join(bin, 'rollgate'), npx: join(bin, 'npx'), bin };
  }

  it('prefers ROLLGATE_CLI to everything else', async () => {
    const p = places();
    await invoke(p, ['--version'], p.script);
    expect(recorded(p.record)?.script).toBe(p.env.ROLLGATE_CLI);
  });

  it('then rollgate.mjs beside the shim, run with node', async () => {
    const p = places();
    delete p.env.ROLLGATE_CLI;
    const r = await invoke(p, ['run', 'w.yml'], p.script);
    expect(recorded(p.record)?.script).toBe(p.beside);
    expect(r.argv).toEqual(['run', '--actor', 'alice', 'w.yml']);
  });

  it('then rollgate on PATH', async () => {
    const p = places();
    delete p.env.ROLLGATE_CLI;
    await invoke(p, ['--version'], p.alone);
    expect(recorded(p.record)?.script).toBe(p.onPath);
  });

  it('then npx --yes rollgate@<the pinned version, which is the package version>', async () => {
    const p = places();
    delete p.env.ROLLGATE_CLI;
    p.env.PATH = binDir({ node: SYSTEM_NODE, npx: realpathSync(p.npx) });
    const r = await invoke(p, ['run', 'w.yml'], p.alone);
    expect(realpathSync(recorded(p.record)?.script ?? '')).toBe(realpathSync(p.npx));
    expect(r.argv).toEqual(['--yes', `rollgate@${VERSION}`, 'run', '--actor', 'alice', 'w.yml']);
    expect(readFileSync(SHIM, 'utf8')).toContain(`readonly PINNED_VERSION=${VERSION}\n`);
  });

  it('runs ROLLGATE_CLI as a command, with its own arguments, when it is not a file', async () => {
    const p = places();
    p.env.ROLLGATE_CLI = 'rollgate --from-env';
    const r = await invoke(p, ['plan', 'w.yml']);
    expect(recorded(p.record)?.script).toBe(p.onPath);
    expect(r.argv).toEqual(['--from-env', 'plan', 'w.yml']);
  });
});

describe('jenkins-shim/rollgate.sh: its own errors (exit 2, a message naming what is missing)', () => {
  function expectError(r: Result & { argv: string[] | undefined }, message: RegExp): void {
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.startsWith('rollgate.sh: ')).toBe(true);
    expect(r.argv, 'the CLI must not have run').toBeUndefined();
    expect(r.stdout).toBe('');
  }

  it('no COMMAND', async () => {
    expectError(await invoke(setup(), []), /missing COMMAND: usage: rollgate\.sh COMMAND \[ARGS\.\.\.\] \(COMMAND: validate, plan, run, resume, audit/);
  });

  it('no CLI anywhere: no ROLLGATE_CLI, no rollgate.mjs beside the shim, no rollgate or npx on PATH', async () => {
    const s = setup({ ROLLGATE_CLI: '' });
    const r = await invoke(s, ['run', 'w.yml']);
    expectError(r, /no rollgate CLI found: set ROLLGATE_CLI to the self-contained rollgate\.mjs \(or a command\), put rollgate\.mjs in .* beside this script, install rollgate on PATH/);
    expect(r.stderr).toContain(`rollgate@${VERSION}`);
    expect(r.stderr).toContain('npx');
  });

  it('no node on PATH, for the CLI named by ROLLGATE_CLI', async () => {
    const s = setup({ PATH: binDir() });
    expectError(await invoke(s, ['run', 'w.yml']), /node not found on PATH \(ROLLGATE_CLI=\S+rollgate\.mjs needs Node\.js >= 20\.19\): run on a Node agent/);
  });

  it('no node on PATH, for rollgate.mjs beside the shim', async () => {
    const s = setup({ ROLLGATE_CLI: '', PATH: binDir() });
    const script = join(s.dir, 'shim/rollgate.sh');
    writeFakeCli(join(s.dir, 'shim/rollgate.mjs'));
    copyFileSync(SHIM, script);
    expectError(await invoke(s, ['run', 'w.yml'], script), /node not found on PATH \(\S+\/shim\/rollgate\.mjs needs Node\.js >= 20\.19\)/);
  });

  it('no node and no CLI: node is named first (every way of running rollgate needs it)', async () => {
    const s = setup({ ROLLGATE_CLI: '', PATH: binDir() });
    expectError(await invoke(s, ['run', 'w.yml']), /node not found on PATH/);
  });

  it('a node older than 20.19', async () => {
    const s = setup();
    const old = join(s.dir, 'old-node');
    writeFileSync(old, '#!/bin/sh\necho 20.18.3\n', { mode: 0o755 });
    s.env.PATH = binDir({ node: old });
    expectError(await invoke(s, ['run', 'w.yml']), /node 20\.18\.3 \(\S+\/node\) is too old: rollgate needs Node\.js >= 20\.19/);
  });

  it('ROLLGATE_CLI naming neither a file nor a command', async () => {
    const s = setup({ ROLLGATE_CLI: '/opt/rollgate/rollgate.mjs' });
    expectError(await invoke(s, ['run', 'w.yml']), /ROLLGATE_CLI=\/opt\/rollgate\/rollgate\.mjs: no such file, and '\/opt\/rollgate\/rollgate\.mjs' is not a command on PATH/);
  });

  it('ROLLGATE_CLI naming a file that is neither a .mjs nor executable', async () => {
    const s = setup();
    const file = join(s.dir, 'rollgate-cli');
    writeFileSync(file, 'not a program\n');
    s.env.ROLLGATE_CLI = file;
    expectError(await invoke(s, ['run', 'w.yml']), /ROLLGATE_CLI=\S+rollgate-cli is not executable \(chmod \+x it, or name the \.mjs file\)/);
  });
});
