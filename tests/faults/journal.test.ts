import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, CLI, EXAMPLES, workspace, writeWorkflow } from '../cli/support.js';
import { smallFilesystem } from './support.js';

/*
 * The journal is what `resume` acts on: a run must never claim an end its journal does not show,
 * nor act on a journal that was edited, nor stop a deployment because its console went away.
 */

const twoStages = [
  'version: 1',
  'name: files',
  'inputs: { version: { default: v2 } }',
  'environments: { local: {} }',
  'audit: { sinks: [{ type: file, dir: audit }] }',
  'stages:',
  '  - name: first',
  '    environment: local',
  '    target:',
  '      type: command',
  // Filling the journal's disk is what this deploy does, once the journal write that records it
  // (right after it starts) is done: a write still in flight would free the old journal's space.
  `      deploy: [sh, -c, 'sleep 0.3; dd if=/dev/zero of="$FILL" bs=1k count=4096 2>/dev/null; printf %s "$ROLLGATE_VERSION" > first']`,
  `      revert: [sh, -c, 'rm -f first']`,
  '  - name: second',
  '    environment: local',
  '    needs: [first]',
  '    target:',
  '      type: command',
  `      deploy: [sh, -c, 'printf %s "$ROLLGATE_VERSION" > second']`,
  `      revert: [sh, -c, 'rm -f second']`,
  '',
].join('\n');

describe('a journal that cannot be written', () => {
  it('stops the run before the next change and exits 5, saying the final state is not recorded (a real full disk)', async () => {
    const cwd = await workspace();
    const fs = await smallFilesystem(64);
    try {
      const file = await writeWorkflow(cwd, 'rollgate.yml', twoStages);
      const state = join(fs.dir, 'run.json');
      const r = await cli(['run', file, '--state', state], { cwd, env: { FILL: join(fs.dir, 'fill') } });
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(5);
      expect(r.stdout).toMatch(/second\/deploy: failed: cannot write the run journal .*run\.json: ENOSPC: no space left on the device; free some, or pass --state PATH on another disk/);
      expect(r.stderr).toMatch(
        /rollgate: JOURNAL NOT WRITTEN \(exit 5\): the run failed, but its journal .*run\.json could not be written \(cannot write the run journal .*ENOSPC.*\), so the file does not say so/,
      );
      // The second stage changed nothing: its deploy never ran.
      expect(existsSync(join(cwd, 'second'))).toBe(false);
      expect(existsSync(join(cwd, 'first'))).toBe(true);
    } finally {
      fs.unmount();
    }
  });
});

describe('a journal edited between two jobs', () => {
  const gated = (dir: string) =>
    writeWorkflow(
      dir,
      'rollgate.yml',
      [
        'version: 1',
        'name: files',
        'inputs: { version: { default: v2 } }',
        'environments: { prod: {} }',
        'audit: { sinks: [{ type: file, dir: audit }] }',
        'stages:',
        '  - name: web',
        '    environment: prod',
        '    approval: { type: manual, message: "check the dashboards first" }',
        '    target:',
        '      type: command',
        `      deploy: [sh, -c, 'printf %s "$ROLLGATE_VERSION" > deployed']`,
        '',
      ].join('\n'),
    );

  it('refuses a version changed after the gate, and deploys nothing', async () => {
    const cwd = await workspace();
    const file = await gated(cwd);
    expect((await cli(['run', file, '--state', 'run.json'], { cwd })).code).toBe(3);
    const journal = JSON.parse(await readFile(join(cwd, 'run.json'), 'utf8')) as { stages: { web: { version: string } }; inputs: Record<string, string> };
    journal.stages.web.version = 'v666';
    await writeFile(join(cwd, 'run.json'), JSON.stringify(journal));
    const r = await cli(['resume', '--state', 'run.json', '--approve'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/run journal .*run\.json does not match the run that wrote it: its inputs, stage selection or versions changed since it was written\. It was edited, or belongs to another workflow; it was left as it is\./);
    // Edited consistently with the binding recomputed by hand, the version still has to follow from the inputs.
    expect(existsSync(join(cwd, 'deployed'))).toBe(false);
  });

  it('never prints the content of another file a journal names as its workflow', async () => {
    const cwd = await workspace();
    const file = await gated(cwd);
    expect((await cli(['run', file, '--state', 'run.json'], { cwd })).code).toBe(3);
    await writeFile(join(cwd, 'secrets.yml'), 'DB_PASSWORD=hunter2-very-secret\n');
    const journal = JSON.parse(await readFile(join(cwd, 'run.json'), 'utf8')) as { workflow: { path: string } };
    journal.workflow.path = join(cwd, 'secrets.yml');
    await writeFile(join(cwd, 'run.json'), JSON.stringify(journal));
    const r = await cli(['resume', '--state', 'run.json', '--approve'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/secrets\.yml is not that file \(sha256 [0-9a-f]{12}…\); resume with the file the run started with/);
    expect(`${r.stdout}${r.stderr}`).not.toContain('hunter2');
  });

  it('refuses a damaged journal without writing anything: exit 2, not an unexpected error', async () => {
    const cwd = await workspace();
    const file = await gated(cwd);
    expect((await cli(['run', file, '--state', 'run.json'], { cwd })).code).toBe(3);
    const journal = JSON.parse(await readFile(join(cwd, 'run.json'), 'utf8')) as { stages: Record<string, unknown> };
    delete journal.stages.web;
    const text = JSON.stringify(journal);
    await writeFile(join(cwd, 'run.json'), text);
    const r = await cli(['resume', '--state', 'run.json', '--approve'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/does not match the run that wrote it: its inputs, stage selection or versions changed since it was written/);
    expect(await readFile(join(cwd, 'run.json'), 'utf8')).toBe(text);
  });
});

describe('output that goes away', () => {
  it('`run … | head` finishes the deployment: a closed stdout never stops a run', async () => {
    const cwd = await workspace();
    const child = spawn(process.execPath, [CLI, 'run', join(EXAMPLES, 'sim-pipeline.yml'), '--state', 'run.json'], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Like `head -1`: read the first chunk, then close the pipe.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(0);
    expect(stderr).not.toMatch(/EPIPE|internal error/);
    expect(JSON.parse(await readFile(join(cwd, 'run.json'), 'utf8'))).toMatchObject({ status: 'succeeded' });
    expect(existsSync(join(cwd, 'run.json.lock'))).toBe(false);
  });
});

describe('refused commands', () => {
  it('leave nothing behind: a bad --input or an unknown --env creates no state folder', async () => {
    const cwd = await workspace();
    const bad = await cli(['run', join(EXAMPLES, 'sim-pipeline.yml'), '--input', 'nope=1'], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown input 'nope'/);
    const env = await cli(['run', join(EXAMPLES, 'sim-pipeline.yml'), '--env', 'mars'], { cwd });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/unknown environment 'mars'; environments: /);
    expect(existsSync(join(cwd, '.rollgate'))).toBe(false);
  });

  it('an unwritable state folder is invalid input (exit 2) with what to do, never an unexpected error', async () => {
    const cwd = await workspace();
    await writeFile(join(cwd, 'blocker'), '');
    const r = await cli(['run', join(EXAMPLES, 'sim-pipeline.yml'), '--state', 'blocker/run.json'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^rollgate run: cannot create the folder of .*blocker\/run\.json: EEXIST: a part of the path is not a folder/);
  });
});
