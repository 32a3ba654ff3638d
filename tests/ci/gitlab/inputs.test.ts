import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { dotenvOf, gitlabCiLocal, jobLog, repository, requirePrerequisites, ROOT } from './support.js';

/*
 * Every way a pipeline can give the component a wrong input, and the error that names it. Typed
 * inputs (a missing required one, a value outside `options`, a string where a number or a boolean
 * goes, a version that is not pinned) are refused by GitLab itself when it creates the pipeline:
 * gitlab-ci-local applies the same spec:inputs rules and its messages name the input. What only
 * the job can tell (a workflow file that is not there, a workflow input that is not NAME=VALUE, a
 * resume without a journal, an unknown decision, a token the workflow names but the job lacks)
 * fails the job with exit code 2, a message naming the input or variable, and
 * ROLLGATE_RESULT=invalid in its dotenv.
 */

const COMPONENT = '$CI_SERVER_FQDN/rollgate/components/rollgate@0.1.0';
const dirs: string[] = [];
beforeAll(() => requirePrerequisites());
afterAll(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A repository whose pipeline includes the component once per entry of `includes`. */
async function pipeline(includes: Record<string, unknown>[], jobs: Record<string, unknown> = {}, files: Record<string, string | { copy: string }> = {}) {
  const ci = { stages: ['deploy'], include: includes.map((inputs) => ({ component: COMPONENT, inputs })), ...jobs };
  const dir = await repository({ '.gitlab-ci.yml': stringify(ci), 'rollgate.yml': { copy: join(ROOT, 'examples/approval-gate.yml') }, ...files });
  dirs.push(dir);
  return dir;
}

const TEMPLATE_FILE = '.gitlab-ci-local/includes/gitlab.example.com/rollgate/components/0.1.0/templates/rollgate.yml';

describe('inputs GitLab refuses when it creates the pipeline (spec:inputs)', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['a missing required input', { 'job-name': 'deploy' }, '`environment` input: required value has not been provided.'],
    ['a value outside the options', { environment: 'staging', mode: 'deploy' }, '`mode` input: `deploy` cannot be used because it is not in the list of allowed options.'],
    ['a rollgate version that is not pinned', { environment: 'staging', 'rollgate-version': 'latest' }, '`rollgate-version` input: `latest` does not match required regex:'],
    ['a string where a number goes', { environment: 'staging', 'audit-retention-days': 'ninety' }, '`audit-retention-days` input: provided value is not a number.'],
    ['a string where a boolean goes', { environment: 'staging', 'fail-on-pause': 'yes' }, '`fail-on-pause` input: provided value is not a boolean.'],
    ['rules that are not a list', { environment: 'staging', rules: 'manual' }, '`rules` input: provided value is not a array.'],
  ];
  it.each(cases)('%s', async (_what, inputs, message) => {
    const dir = await pipeline([inputs]);
    const result = await gitlabCiLocal(dir);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain(`This GitLab CI configuration is invalid: \`${TEMPLATE_FILE}\`: ${message}`);
    expect(result.output).not.toMatch(/starting shell/);
  }, 60_000);
});

describe('inputs only the job can check: exit code 2, a message naming them, ROLLGATE_RESULT=invalid', () => {
  let dir: string;
  let output: string;
  const gated = {
    version: 1,
    name: 'web-gitlab-gate',
    inputs: { version: { default: 'v2' } },
    environments: { staging: {}, production: {} },
    sim: { services: { web: { version: 'v1' } } },
    stages: [
      { name: 'staging', environment: 'staging', target: { type: 'sim', service: 'web' } },
      { name: 'production', environment: 'production', needs: ['staging'], approval: { type: 'gitlab', tokenEnv: 'ROLLGATE_GITLAB_TOKEN' }, target: { type: 'sim', service: 'web' } },
    ],
  };

  beforeAll(async () => {
    const job = (name: string, more: Record<string, unknown>) => ({ 'job-name': name, stage: 'deploy', environment: 'staging', ...more });
    dir = await pipeline(
      [
        job('no-workflow', { workflow: 'deploy/rollgate.yml' }),
        job('bad-inputs', { 'workflow-inputs': 'version=v2\nv3' }),
        job('no-journal', { mode: 'resume' }),
        job('bad-decision', { mode: 'resume' }),
        job('no-token', { workflow: 'gated.yml' }),
      ],
      { 'bad-decision': { variables: { ROLLGATE_DECISION: 'maybe' } } },
      { 'gated.yml': stringify(gated) },
    );
    const result = await gitlabCiLocal(dir);
    expect(result.code).not.toBe(0);
    output = result.output;
  }, 120_000);

  const cases: Array<[string, string]> = [
    ['no-workflow', "rollgate component, job no-workflow: input 'workflow': no workflow file 'deploy/rollgate.yml' in "],
    ['bad-inputs', "rollgate component, job bad-inputs: input 'workflow-inputs': 'v3' is not NAME=VALUE (one a line)"],
    ['no-journal', "rollgate component, job no-journal: input 'state': no run journal at '.rollgate/run.json'; give this job the artifacts of the job that ran 'rollgate run' (needs: [that job])"],
    ['bad-decision', "rollgate component, job bad-decision: variable ROLLGATE_DECISION: 'maybe' is neither approve nor reject"],
    ['no-token', 'stages[1].approval.tokenEnv: environment variable ROLLGATE_GITLAB_TOKEN is not set (export it in the CI job\'s secrets)'],
  ];
  it.each(cases)('%s', async (job, message) => {
    expect(output).toMatch(new RegExp(`FAIL\\s+${job}\\b`));
    expect(jobLog(output, job)).toContain(message);
    expect(await dotenvOf(dir, job)).toMatchObject({ ROLLGATE_RESULT: 'invalid', ROLLGATE_EXIT_CODE: '2' });
  });

  it('runs nothing for a missing token: the job stops before the first stage', () => {
    expect(jobLog(output, 'no-token')).not.toContain('staging/');
  });
});
