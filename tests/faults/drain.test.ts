import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, waitForOutput, workspace, writeWorkflow } from '../cli/support.js';

/*
 * The end of a run whose audit collector hangs: the run's result is known, only the audit trail's
 * last flush is left. A signal then ends the wait at once (nothing is rolled back: the run is
 * over), what was not delivered is kept in the spool, and the exit code says the trail is not whole.
 */

let server: Server;
let url = '';
beforeAll(async () => {
  // Accepts every request and never answers.
  server = createServer(() => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/audit`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('a signal while the audit trail drains', () => {
  it('stops the wait, keeps what is undelivered in the spool, and says the run had ended (exit 6)', async () => {
    const cwd = await workspace();
    const file = await writeWorkflow(
      cwd,
      'rollgate.yml',
      [
        'version: 1',
        'name: drain',
        'inputs: { version: { default: v2 } }',
        'environments: { prod: {} }',
        'sim: { services: { web: { version: v1 } } }',
        'audit:',
        '  sinks:',
        `    - { type: http, url: "${url}", drainTimeout: 10m, timeout: 10m, spoolDir: spool }`,
        'stages:',
        '  - { name: web, environment: prod, target: { type: sim, service: web } }',
        '',
      ].join('\n'),
    );
    const child = start(['run', file, '--state', 'run.json'], { cwd });
    await waitForOutput(child, (text) => /run drain-\S+ succeeded/.test(text));
    child.kill('SIGTERM');
    const r = await child.result;
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(/SIGTERM received: the run has ended; no longer waiting for the audit trail's last flush \(what is undelivered is kept in its spool\)/);
    expect(r.stderr).not.toMatch(/rolling back/);
    expect(r.stderr).toMatch(/rollgate: AUDIT TRAIL INCOMPLETE \(exit 6\): the run succeeded, but /);
    const spooled = (await readdir(join(cwd, 'spool'))).filter((f) => f.endsWith('.undelivered.jsonl'));
    expect(spooled).toHaveLength(1);
    const kept = (await readFile(join(cwd, 'spool', spooled[0] as string), 'utf8')).trim().split('\n');
    expect(kept.length).toBeGreaterThan(5);
    expect(JSON.parse(await readFile(join(cwd, 'run.json'), 'utf8'))).toMatchObject({ status: 'succeeded' });
    expect(existsSync(join(cwd, 'run.json.lock'))).toBe(false);
  });
});
