import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeGitHub, type FakeGitHub } from './fake-github.js';
import { githubEnv, MACHINE_NODE, mainAndPost, NODES, ROOT, step, workspace, type Job, type StepResult } from './support.js';

/*
 * What a user sees when something is wrong: a rollout that fails (annotations with the reason,
 * the step failed, the deployment marked failure, the trail still uploaded), and every error of
 * the adapter itself: each missing or invalid input is an error annotation naming the input.
 */
const WORKFLOW = 'examples/github/rollgate.yml';

let gh: FakeGitHub;
let dir: string;
beforeEach(async () => {
  gh = await startFakeGitHub();
  dir = await workspace();
  mkdirSync(join(dir, 'examples/github'), { recursive: true });
  copyFileSync(join(ROOT, WORKFLOW), join(dir, WORKFLOW));
});
afterEach(async () => gh.close());

const job = (inputs: Record<string, string>, node = MACHINE_NODE, extra: Record<string, string> = {}): Job => ({
  dir,
  node,
  inputs,
  env: githubEnv(dir, gh, 'deploy', extra),
});

const errors = (r: StepResult) => r.annotations.filter((a) => a.level === 'error');

describe.each(NODES)('a failed rollout, under %s', (_label, node) => {
  it('fails the step with the reason as annotations, marks the deployment failure, and still uploads the trail', async () => {
    const { main, post } = await mainAndPost(job({ workflow: WORKFLOW, token: gh.token, inputs: 'version=v3' }, node));
    expect(main.code).toBe(1);
    expect(main.outputs).toMatchObject({ result: 'rolled-back', 'exit-code': '1' });
    const [stage, headline] = errors(main);
    expect(stage).toMatchObject({ title: 'rollgate: stage staging rolled-back', message: expect.stringContaining('staging → staging (v3): rolled-back') });
    expect(stage?.message).toMatch(/canary-error-rate/);
    expect(headline?.message).toMatch(new RegExp(`^rollgate: run ${main.outputs['run-id']} rolled-back`));
    const deployment = gh.deployments.find((d) => d.environment === 'staging');
    expect(deployment?.statuses.map((s) => s.state)).toEqual(['in_progress', 'failure']);
    expect(main.summary).toContain('# Run report:');
    expect(post.code).toBe(0);
    expect(gh.artifacts.map((a) => [a.name, a.finalized])).toEqual([['rollgate-audit-deploy-1', true]]);
  });
});

describe('inputs: each problem is an error naming the input', () => {
  const expectInputError = (r: StepResult, input: string, text: string | RegExp) => {
    expect(r.code).toBe(1);
    expect(r.outputs).toMatchObject({ result: 'invalid', 'exit-code': '2' });
    const message = typeof text === 'string' ? expect.stringContaining(text) : expect.stringMatching(text);
    expect(errors(r)).toContainEqual(expect.objectContaining({ title: `rollgate: input '${input}'`, message }));
    expect(errors(r).at(-1)?.message).toContain(`'${input}'`);
  };

  it('a missing required input (workflow)', async () => {
    expectInputError(await step('main', job({ token: gh.token })), 'workflow', /^input 'workflow' is required/);
  });

  it('an invalid value (mode: deploy)', async () => {
    expectInputError(await step('main', job({ workflow: WORKFLOW, token: gh.token, mode: 'deploy' })), 'mode', "input 'mode' must be one of run, plan, resume (got 'deploy')");
  });

  it('a missing token, when deployments are recorded', async () => {
    expectInputError(await step('main', job({ workflow: WORKFLOW, token: '' })), 'token', /is required: `deployments: true` records GitHub deployments/);
  });

  it('a token the runner did not expand counts as missing', async () => {
    expectInputError(await step('main', job({ workflow: WORKFLOW, token: '${{ github.token }}' })), 'token', /is required/);
  });

  it('every problem at once', async () => {
    const r = await step('main', job({ workflow: WORKFLOW, token: gh.token, deployments: 'yes', 'retention-days': '365', decision: 'approve', 'environment-url': 'ftp://x' }));
    expect(errors(r).map((a) => a.title)).toEqual([
      "rollgate: input 'decision'",
      "rollgate: input 'deployments'",
      "rollgate: input 'retention-days'",
      "rollgate: input 'environment-url'",
      undefined,
    ]);
  });

  it('inputs that are neither name=value lines nor a YAML mapping', async () => {
    expectInputError(await step('main', job({ workflow: WORKFLOW, token: gh.token, inputs: '- v2\n- v3' })), 'inputs', /must be a YAML mapping/);
  });

  it('a workflow file that does not exist', async () => {
    expectInputError(await step('main', job({ workflow: 'nope.yml', token: gh.token })), 'workflow', /no such file/);
  });

  it('a workflow input whose value the workflow refuses', async () => {
    const r = await step('main', job({ workflow: WORKFLOW, token: gh.token, inputs: 'version=$(rm -rf /)' }));
    expectInputError(r, 'inputs', /^inputs\.version: input 'version' is '\$\(rm -rf \/\)': it contains '\$'/);
    expect(gh.deployments).toEqual([]);
  });

  it('an invalid workflow file: annotations on its lines', async () => {
    writeFileSync(join(dir, 'bad.yml'), 'version: 1\nname: bad\nenvironments: { prod: {} }\nstages:\n  - name: web\n    environment: prod\n    target: { type: nope }\n');
    const r = await step('main', job({ workflow: 'bad.yml', token: gh.token }));
    expect(r.outputs['exit-code']).toBe('2');
    expect(errors(r)[0]).toMatchObject({ title: 'rollgate: invalid workflow bad.yml (1 problem)', file: 'bad.yml', line: '7' });
  });

  it('a decision outside mode: resume', async () => {
    expectInputError(await step('main', job({ workflow: WORKFLOW, token: gh.token, decision: 'approve' })), 'decision', /is only for mode: resume/);
  });

  it('resume without the journal, and a paused run without a decision', async () => {
    expectInputError(await step('main', job({ workflow: WORKFLOW, token: gh.token, mode: 'resume' })), 'state-path', /no run journal at \.rollgate\/run\.json: download the artifact/);
    expect((await step('main', job({ workflow: WORKFLOW, token: gh.token }))).outputs.result).toBe('paused');
    expectInputError(await step('main', job({ workflow: WORKFLOW, token: gh.token, mode: 'resume' })), 'decision', /is required: run .* is paused at production\/approval-production/);
  });

  it('an approval GitHub has no record of', async () => {
    expect((await step('main', job({ workflow: WORKFLOW, token: gh.token }))).outputs.result).toBe('paused');
    const r = await step('main', job({ workflow: WORKFLOW, token: gh.token, mode: 'resume', decision: 'approve' }));
    expect(r.outputs).toMatchObject({ result: 'invalid', 'exit-code': '2' });
    expect(errors(r).at(-1)?.message).toMatch(/GitHub reports no approval of environment 'production' in run 4242: run the resume job in that environment/);
  });

  it('a token GitHub refuses: the rollout goes on, with one warning', async () => {
    const r = await step('main', job({ workflow: WORKFLOW, token: 'wrong' }));
    expect(r.outputs.result).toBe('paused');
    expect(r.annotations.filter((a) => a.level === 'warning').map((a) => a.message)).toEqual([
      expect.stringMatching(/^GitHub deployments are not updated: GitHub answered 401.*The rollout is not affected\.$/),
    ]);
  });
});

describe('mode: plan', () => {
  it('shows the plan in the log and the summary, and changes nothing', async () => {
    const { main, post } = await mainAndPost(job({ workflow: WORKFLOW, mode: 'plan', token: '', deployments: 'true' }));
    expect(main.code).toBe(0);
    expect(main.outputs).toMatchObject({ result: 'planned', 'exit-code': '0' });
    expect(main.stdout).toContain('plan for workflow shop (nothing will be changed by this command)');
    expect(main.summary).toContain('### rollgate plan: shop');
    expect(gh.deployments).toEqual([]);
    expect(post.stdout).toContain('nothing to upload');
    expect(gh.artifacts).toEqual([]);
  });
});
