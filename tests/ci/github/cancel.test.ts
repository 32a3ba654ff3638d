import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunJournal } from '../../../core/src/index.js';
import { startFakeGitHub, type FakeGitHub } from './fake-github.js';
import { githubEnv, NODES, readJson, startStep, step, waitForLine, workspace, type Job } from './support.js';

/*
 * A job cancelled mid-rollout. The runner sends SIGINT/SIGTERM to the main step, and kills it if
 * it does not exit; then it runs the post step (`post-if: always()`). A step that gets the signal
 * rolls back itself; a step killed mid-rollout leaves the journal `running`, and the post step
 * finishes the rollback (or, with on-cancel: resume-later, leaves it for a resume job).
 * The rollout runs in real time (sim.clock: real) and bakes for 5 minutes: the signal always
 * lands while the bake is in flight, once the step has printed that it started.
 */
const WORKFLOW = `version: 1
name: slow
inputs:
  version: { default: v2 }
environments:
  production: { url: https://web.example.com }
sim:
  clock: real
  services:
    web: { version: v1 }
  versions:
    v1: { startup: 0s }
    v2: { startup: 0s }
stages:
  - name: web
    environment: production
    target: { type: sim, service: web }
    strategy: { type: direct, bake: 5m }
`;

describe.each(NODES)('a job cancelled mid-rollout, under %s', (_label, node) => {
  let gh: FakeGitHub;
  let dir: string;
  const job = (inputs: Record<string, string> = {}): Job => ({ dir, node, inputs: { workflow: 'wf.yml', token: gh.token, ...inputs }, env: githubEnv(dir, gh) });
  const journal = () => readJson<RunJournal>(join(dir, '.rollgate/run.json'));
  const states = () => gh.deployments.find((d) => d.environment === 'production')?.statuses.map((s) => s.state);

  /** Starts main and waits until the bake is in flight and the deployment is in progress. */
  async function midRollout(inputs: Record<string, string> = {}) {
    const main = await startStep('main', job(inputs));
    await Promise.all([waitForLine(main, /web\/bake: pause/), gh.waitFor(/^POST \/repos\/acme\/web\/deployments\/\d+\/statuses$/)]);
    return main;
  }

  beforeEach(async () => {
    gh = await startFakeGitHub();
    dir = await workspace();
    writeFileSync(join(dir, 'wf.yml'), WORKFLOW);
  });
  afterEach(async () => gh.close());

  it('SIGTERM: the main step rolls back itself, ends cancelled, and post uploads the trail', async () => {
    const main = await midRollout();
    main.kill('SIGTERM');
    const ended = await main.result;
    expect(ended.code).toBe(1);
    expect(ended.outputs).toMatchObject({ result: 'cancelled', 'exit-code': '130' });
    expect(ended.annotations).toContainEqual(expect.objectContaining({ level: 'warning', message: expect.stringContaining('SIGTERM received') }));
    expect((await journal()).stages.web).toMatchObject({ status: 'cancelled', message: expect.stringContaining('rolled back') });
    expect(states()).toEqual(['in_progress', 'failure']);

    const post = await step('post', job(), ended.state);
    expect(post.code).toBe(0);
    expect(post.stdout).not.toContain('left mid-rollout');
    expect(gh.artifacts.map((a) => a.name)).toEqual(['rollgate-audit-deploy-1']);
  });

  it('killed mid-rollout: the post step finishes the rollback, marks the deployment failed, uploads', async () => {
    const main = await midRollout();
    main.kill('SIGKILL');
    const killed = await main.result;
    expect(killed.signal).toBe('SIGKILL');
    expect(JSON.parse(killed.state.rollgate as string)).toMatchObject({ phase: 'running' });
    expect((await journal()).status).toBe('running');

    const post = await step('post', job(), killed.state);
    expect(post.annotations).toContainEqual(expect.objectContaining({ level: 'warning', title: 'rollgate: rolling back a cancelled run' }));
    const after = await journal();
    expect(after.status).not.toBe('running');
    expect(after.stages.web?.compensations.every((c) => c.status === 'done')).toBe(true);
    const trail = readFileSync(join(dir, `.rollgate/audit/${after.runId}.jsonl`), 'utf8');
    expect(trail).toContain('"rollback.finished"');
    expect(post.stdout).toMatch(/audit chain head: entry \d+, [0-9a-f]{64}/);
    expect(states()).toEqual(['in_progress', 'failure']);
    expect(gh.deployments).toHaveLength(1);
    expect(post.code).toBe(1);
    expect(gh.artifacts.map((a) => [a.name, a.finalized])).toEqual([['rollgate-audit-deploy-1', true]]);
  });

  it('killed mid-rollout with on-cancel: resume-later: post leaves the run for a resume job, which rolls it back', async () => {
    const main = await midRollout({ 'on-cancel': 'resume-later' });
    main.kill('SIGKILL');
    const killed = await main.result;
    const post = await step('post', job({ 'on-cancel': 'resume-later' }), killed.state);
    expect(post.code).toBe(0);
    expect(post.annotations).toContainEqual(expect.objectContaining({ level: 'warning', title: 'rollgate: run left for resume' }));
    expect((await journal()).status).toBe('running');
    expect(gh.artifacts.map((a) => a.name)).toEqual(['rollgate-audit-deploy-1']);

    const resume = await step('main', { ...job({ mode: 'resume' }), env: githubEnv(dir, gh, 'recover') });
    expect(resume.outputs.result).not.toBe('running');
    expect(resume.outputs['exit-code']).toBe('1');
    expect((await journal()).stages.web?.compensations.every((c) => c.status === 'done')).toBe(true);
    expect(states()).toEqual(['in_progress', 'failure']);
  });
});
