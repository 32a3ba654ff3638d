import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startGitlabServer, type GitlabServer } from '../../../core/src/testing/gitlab-server.js';
import { artifact, dotenvOf, gitlabCiLocal, jobLog, repository, requirePrerequisites } from './support.js';

/*
 * The `gitlab` approver end to end: the component's job runs the workflow, whose production gate
 * waits on GitLab's deployment approvals. GitLab is a local server speaking the documented
 * Deployments API; the job reaches it as a GitLab job does, through CI_SERVER_URL, CI_PROJECT_ID,
 * CI_PIPELINE_ID and CI_JOB_TOKEN, with the real @gitbeaker/rest client inside the built CLI.
 * The pipeline's `production-approval` job is the deployment GitLab blocks until the protected
 * environment's approvers decide; the run records the people GitLab reports, not the pipeline's
 * starter (alice).
 */

const JOB_TOKEN = 'job-token-secret-value';
const PIPELINE = '7';

const workflow = {
  version: 1,
  name: 'web',
  inputs: { version: { default: 'v2' } },
  environments: { staging: {}, production: {} },
  sim: { services: { web: { version: 'v1' } } },
  stages: [
    { name: 'staging', environment: 'staging', target: { type: 'sim', service: 'web' } },
    {
      name: 'production',
      environment: 'production',
      needs: ['staging'],
      approval: { type: 'gitlab', job: 'production-approval', pollInterval: '200ms', timeout: '1m' },
      target: { type: 'sim', service: 'web' },
    },
  ],
};

const pipeline = {
  stages: ['deploy'],
  include: [
    { component: '$CI_SERVER_FQDN/rollgate/components/rollgate@0.1.0', inputs: { 'job-name': 'deploy', stage: 'deploy', environment: 'staging' } },
  ],
};

let server: GitlabServer;
const dirs: string[] = [];
beforeAll(() => requirePrerequisites());
beforeEach(async () => {
  server = await startGitlabServer({ tokens: { [JOB_TOKEN]: 'ci-job' } });
});
afterEach(() => server.close());
afterAll(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function runDeploy() {
  const dir = await repository({ '.gitlab-ci.yml': stringify(pipeline), 'rollgate.yml': stringify(workflow) });
  dirs.push(dir);
  const result = await gitlabCiLocal(dir, {
    variables: { CI_SERVER_URL: server.url, CI_PROJECT_ID: '42', CI_PIPELINE_ID: PIPELINE, CI_JOB_TOKEN: JOB_TOKEN },
  });
  const journal = JSON.parse(readFileSync(artifact(dir, 'deploy', '.rollgate/run.json'), 'utf8'));
  return { dir, result, journal, dotenv: await dotenvOf(dir, 'deploy') };
}

/** The blocked deployment of the pipeline's approval job, and one of an older pipeline. */
function gateDeployment(): number {
  server.addDeployment({ environment: 'production', requiredApprovals: 1, pipelineId: 6, jobName: 'production-approval' });
  return server.addDeployment({ environment: 'production', requiredApprovals: 2, pipelineId: Number(PIPELINE), jobName: 'production-approval' });
}

describe('the gitlab approver in a GitLab job', () => {
  it('continues once the approvers GitLab reports have approved, and records them', async () => {
    const id = gateDeployment();
    server.decide(id, 'dana', 'approved', 'canary looks good');
    // The second approval arrives while the job waits.
    let looks = 0;
    server.onRequest((r) => {
      if (r.path.endsWith(`/deployments/${id}`) && (looks += 1) === 2) server.decide(id, 'erin', 'approved');
    });
    const { result, journal, dotenv } = await runDeploy();
    expect(result.code, result.output).toBe(0);
    expect(dotenv).toMatchObject({ ROLLGATE_RESULT: 'succeeded', ROLLGATE_EXIT_CODE: '0', ROLLGATE_RUN_STATUS: 'succeeded' });
    expect(journal.context).toMatchObject({ ci: 'gitlab', actor: 'alice' });
    expect(journal.stages.production).toMatchObject({
      status: 'succeeded',
      approval: { status: 'approved', by: 'dana, erin', comment: 'dana: canary looks good' },
    });
    expect(jobLog(result.output, 'deploy')).toContain('production: approved by dana, erin');
    // Found through the API as a job token does it, and the token never reached the log.
    expect(server.requests.every((r) => r.auth === 'job')).toBe(true);
    expect(server.requests[0]?.query).toMatchObject({ environment: 'production' });
    expect(result.output).not.toContain(JOB_TOKEN);
  }, 120_000);

  it('rolls nothing out when an approver rejects: the job fails with exit code 1 and says who', async () => {
    const id = gateDeployment();
    server.decide(id, 'frank', 'rejected', 'freeze until Monday');
    const { result, journal, dotenv } = await runDeploy();
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/FAIL\s+deploy/);
    expect(dotenv).toMatchObject({ ROLLGATE_RESULT: 'failed', ROLLGATE_EXIT_CODE: '1', ROLLGATE_RUN_STATUS: 'failed' });
    expect(journal.stages.production).toMatchObject({
      status: 'failed',
      message: 'rejected by frank (freeze until Monday); nothing was changed',
      approval: { status: 'rejected', by: 'frank' },
    });
  }, 120_000);

  it('fails the gate with a message naming the approver and GitLab when the token is refused', async () => {
    gateDeployment();
    await server.close();
    server = await startGitlabServer({ tokens: { 'another-token': 'someone' } });
    server.addDeployment({ environment: 'production', requiredApprovals: 1, pipelineId: Number(PIPELINE), jobName: 'production-approval' });
    const { result, dotenv } = await runDeploy();
    expect(result.code).not.toBe(0);
    expect(dotenv).toMatchObject({ ROLLGATE_RESULT: 'failed', ROLLGATE_EXIT_CODE: '1' });
    expect(jobLog(result.output, 'deploy')).toContain(
      `gitlab approver for production: GitLab at ${server.url} refused the token in CI_JOB_TOKEN (401 Unauthorized) reading the deployments of environment production of project 42`,
    );
    expect(result.output).not.toContain(JOB_TOKEN);
  }, 120_000);
});
