import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { cli, start, waitForOutput, workspace, writeWorkflow } from '../cli/support.js';
import { processesWith, sleepMarker } from './support.js';

/*
 * A deploy command that outlives rollgate (SIGKILL from the OOM killer or a runner timeout, or a
 * second Ctrl-C) must not finish after the rollback: the resumed run stops it before it undoes
 * anything, and a forced exit takes it down with the process.
 */

function workflow(deploy: string): string {
  return [
    'version: 1',
    'name: files',
    'inputs: { version: { default: v2 } }',
    'environments: { local: {} }',
    'audit: { sinks: [{ type: file, dir: audit }] }',
    'stages:',
    '  - name: release',
    '    environment: local',
    '    target:',
    '      type: command',
    `      current: [sh, -c, 'cat state 2>/dev/null || true']`,
    `      deploy: [sh, -c, '${deploy}']`,
    `      revert: [sh, -c, 'printf %s "$ROLLGATE_PREVIOUS_VERSION" > state']`,
    '      timeout: 5m',
    '',
  ].join('\n');
}

/** Waits until no process carries `marker` (a kill is delivered asynchronously). */
async function gone(marker: string): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    if ((await processesWith(marker)).length === 0) return true;
    await delay(50);
  }
  return false;
}

describe('commands that outlive rollgate', () => {
  it('a resume after SIGKILL stops the dead run’s deploy before it reverts, so the old version stays', async () => {
    const cwd = await workspace();
    const marker = sleepMarker();
    const file = await writeWorkflow(cwd, 'rollgate.yml', workflow(`echo started; sleep ${marker}; printf %s "$ROLLGATE_VERSION" > state`));
    await writeFile(join(cwd, 'state'), 'v1');
    const child = start(['run', file, '--state', 'run.json'], { cwd });
    await waitForOutput(child, (text) => text.includes('release/deploy | started'));
    expect(await processesWith(marker)).toHaveLength(2); // sh and its sleep
    child.kill('SIGKILL');
    await child.result;
    // The dead process's deploy is still running: the fault this test is about.
    expect((await processesWith(marker)).length).toBeGreaterThan(0);

    const resumed = await cli(['resume', '--state', 'run.json'], { cwd });
    expect(resumed.code, resumed.stderr).toBe(1);
    expect(resumed.stdout).toMatch(/release: stop orphaned commands because the rollgate process that ran this stage died while 1 command\(s\) still ran: deploy command of stage release \(process group \d+\); stopped them before undoing anything/);
    expect(resumed.stdout).toMatch(/release\s+local\s+v2\s+rolled-back/);
    expect(await processesWith(marker)).toEqual([]);
    expect(await readFile(join(cwd, 'state'), 'utf8')).toBe('v1');
    const journal = JSON.parse(await readFile(join(cwd, 'run.json'), 'utf8')) as { processes?: unknown[]; status: string };
    expect(journal).toMatchObject({ status: 'rolled-back', processes: [] });
  });

  it('a second Ctrl-C kills the command in flight before rollgate exits, and resume then rolls back alone', async () => {
    const cwd = await workspace();
    const marker = sleepMarker();
    // The deploy ignores SIGTERM, as a busy one may: only SIGKILL stops it.
    const file = await writeWorkflow(cwd, 'rollgate.yml', workflow(`trap "" TERM; echo started; sleep ${marker}; printf %s "$ROLLGATE_VERSION" > state`));
    await writeFile(join(cwd, 'state'), 'v1');
    const child = start(['run', file, '--state', 'run.json'], { cwd });
    await waitForOutput(child, (text) => text.includes('release/deploy | started'));
    child.kill('SIGINT');
    await delay(200);
    child.kill('SIGINT');
    const result = await child.result;
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/second SIGINT: exiting now without waiting for the rollback \(killed 1 command\(s\) in flight\); run 'rollgate resume' to finish it/);
    expect(await gone(marker)).toBe(true);

    const resumed = await cli(['resume', '--state', 'run.json'], { cwd });
    expect(resumed.code, resumed.stderr).toBe(1);
    expect(resumed.stdout).not.toMatch(/stop orphaned commands/);
    expect(await readFile(join(cwd, 'state'), 'utf8')).toBe('v1');
  });
});
