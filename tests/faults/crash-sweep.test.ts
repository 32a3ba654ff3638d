import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, start, workspace, writeWorkflow } from '../cli/support.js';

/*
 * The crash-and-resume sweep: `rollgate run` is killed with SIGKILL at many points of a canary,
 * a progressive rollout and a command-target rollout, then `rollgate resume` recovers. Whatever
 * the point, the run must end in a documented state that matches what is really deployed (the
 * simulated world in the journal, or real files), and every audit trail must verify.
 *
 * Points are counted in lines of output: the k-th event printed. The rollouts run on wall time
 * (short steps), so a kill lands mid-change as often as between changes.
 */

const audit = "audit: { sinks: [{ type: file, dir: audit }] }";

const CANARY = `
version: 1
name: sweep-canary
inputs: { version: { default: v2 } }
environments: { production: {} }
${audit}
sim:
  clock: real
  nodes: 4
  services: { web: { version: v1 } }
  versions: { v1: { startup: 300ms }, v2: { startup: 300ms } }
stages:
  - name: web
    environment: production
    target: { type: sim, service: web }
    router: { type: sim, service: web }
    monitor: { interval: 200ms }
    verify: { interval: 100ms }
    strategy:
      type: canary
      abortScaleDownDelay: 200ms
      steps:
        - setWeight: 25
        - pause: { duration: 300ms }
        - setWeight: 50
        - pause: { duration: 300ms }
`;

const PROGRESSIVE = `
version: 1
name: sweep-fleet
inputs: { version: { default: v2 } }
environments: { production: {} }
${audit}
sim:
  clock: real
  nodes: 6
  services: { api: { version: v1 } }
  versions: { v1: { startup: 200ms }, v2: { startup: 200ms } }
stages:
  - name: api
    environment: production
    target: { type: sim, service: api }
    monitor: { interval: 200ms }
    strategy: { type: progressive, waves: [1, 50%], maxParallel: 2, maxUnavailable: 2, bake: 200ms }
`;

const COMMANDS = `
version: 1
name: sweep-files
inputs: { version: { default: v2 } }
environments: { local: {} }
${audit}
stages:
  - name: files
    environment: local
    verify: { interval: 100ms, timeout: 10s }
    target:
      type: command
      current: [sh, -c, 'cat state 2>/dev/null || true']
      deploy: [sh, -c, 'sleep 0.3; printf %s "$ROLLGATE_VERSION" > state; sleep 0.2']
      health: [sh, -c, 'sleep 0.1; test -s state']
      revert: [sh, -c, 'sleep 0.2; printf %s "$ROLLGATE_PREVIOUS_VERSION" > state']
`;

interface Journal {
  status: string;
  stages: Record<string, { status: string }>;
  providers?: Record<string, { services?: Record<string, { version: string | null; candidate?: unknown; route?: string }>; fleets?: Record<string, unknown[]> }>;
}

/** Runs until the k-th line of output, kills it with SIGKILL, then resumes; returns what is left. */
async function crashAt(text: string, k: number, prepare?: (cwd: string) => Promise<void>) {
  const cwd = await workspace();
  await prepare?.(cwd);
  const file = await writeWorkflow(cwd, 'rollgate.yml', text);
  const child = start(['run', file, '--state', 'run.json'], { cwd });
  let lines = 0;
  child.stdout?.on('data', (d: Buffer) => {
    lines += d.toString().split('\n').length - 1;
    if (lines >= k) child.kill('SIGKILL');
  });
  const ran = await child.result;
  const resumed = await cli(['resume', '--state', 'run.json'], { cwd });
  const journal = existsSync(join(cwd, 'run.json')) ? (JSON.parse(await readFile(join(cwd, 'run.json'), 'utf8')) as Journal) : undefined;
  const verify = existsSync(join(cwd, 'audit')) ? await cli(['audit', 'verify', 'audit'], { cwd }) : undefined;
  return { cwd, ran, resumed, journal, verify, killed: ran.code === null };
}

/** The documented ends of a killed run and its resume, checked against what is deployed. */
function expectDocumentedEnd(r: Awaited<ReturnType<typeof crashAt>>, deployed: string | null | undefined, label: string) {
  const where = `${label}\nrun: ${r.ran.code}\n${r.ran.stderr}\nresume: ${r.resumed.code}\n${r.resumed.stdout}\n${r.resumed.stderr}`;
  if (!r.journal) {
    // Killed before the first journal write: nothing was changed, and resume says there is nothing.
    expect(r.resumed.code, where).toBe(2);
    expect(r.resumed.stderr, where).toMatch(/no run journal at/);
    expect(deployed ?? 'v1', where).toBe('v1');
    return;
  }
  if (r.journal.status === 'succeeded') {
    // The run had finished (resume refuses), or had finished every stage before it was killed
    // (resume records the end): the new version is what runs.
    if (r.resumed.code === 2) expect(r.resumed.stderr, where).toMatch(/already ended \(succeeded\)/);
    else expect(r.resumed.code, where).toBe(0);
    expect(deployed, where).toBe('v2');
  } else {
    // Killed mid-run: resume rolled back (or the run had changed nothing yet), never forward.
    expect([1], where).toContain(r.resumed.code);
    expect(['rolled-back', 'failed'], where).toContain(r.journal.status);
    expect(deployed, where).toBe('v1');
  }
  if (r.verify) expect(r.verify.code, `${where}\naudit: ${r.verify.stdout}${r.verify.stderr}`).toBe(0);
}

const POINTS = [1, 3, 5, 8, 11, 15, 20, 26, 33, 10_000];

/** Crashes at every point, a few at a time (these machines have two cores). */
async function sweep(text: string, prepare?: (cwd: string) => Promise<void>) {
  const results: Awaited<ReturnType<typeof crashAt>>[] = [];
  for (let i = 0; i < POINTS.length; i += 5) {
    results.push(...(await Promise.all(POINTS.slice(i, i + 5).map((k) => crashAt(text, k, prepare)))));
  }
  return results;
}

const SWEEP_TIMEOUT = 120_000;

describe('crash-and-resume sweep', () => {
  it('a canary killed at any point ends rolled back or succeeded, as the simulated world says', async () => {
    const results = await sweep(CANARY);
    results.forEach((r, i) => {
      // Without a saved world the run had not touched the simulation: v1 still runs.
      const web = r.journal?.providers?.['sim@production']?.services?.web ?? { version: 'v1' };
      if (r.journal && web) {
        expect(web.candidate, `point ${POINTS[i]}`).toBeUndefined();
        expect(web.route ?? 'none', `point ${POINTS[i]}`).toBe('none');
      }
      expectDocumentedEnd(r, web.version, `canary, killed at line ${POINTS[i]}`);
    });
    expect(results.filter((r) => r.killed).length).toBeGreaterThanOrEqual(POINTS.length - 2);
  }, SWEEP_TIMEOUT);

  it('a progressive rollout killed at any point leaves every node on one version', async () => {
    const results = await sweep(PROGRESSIVE);
    results.forEach((r, i) => {
      const api = r.journal?.providers?.['sim@production']?.services?.api ?? { version: 'v1' };
      const fleets = r.journal?.providers?.['sim@production']?.fleets ?? {};
      if (r.journal && api) expect(fleets.api ?? [], `point ${POINTS[i]}: nodes left on another version`).toEqual([]);
      expectDocumentedEnd(r, api.version, `progressive, killed at line ${POINTS[i]}`);
    });
  }, SWEEP_TIMEOUT);

  it('a command-target rollout killed at any point leaves the real file on one version, even mid-command', async () => {
    const results = await sweep(COMMANDS, (cwd) => writeFile(join(cwd, 'state'), 'v1'));
    // A deploy that outlived its killed run (none should) would write v2 within its 0.5 s of sleeps.
    await new Promise((resolve) => setTimeout(resolve, 600));
    for (const [i, r] of results.entries()) {
      const state = await readFile(join(r.cwd, 'state'), 'utf8');
      expectDocumentedEnd(r, state, `commands, killed at line ${POINTS[i]}`);
    }
  }, SWEEP_TIMEOUT);
});
