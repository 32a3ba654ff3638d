import type { ProviderDeps } from '../ports/provider-deps.js';
import { describeApproverContract } from '../testing/contracts/approver.js';
import { fakeDeps } from '../testing/fakes.js';
import { startGitlabServer, type GitlabServer } from '../testing/gitlab-server.js';
import type { MemoryProviderStates } from '../testing/state.js';
import * as gitlab from './gitlab.js';

/*
 * The real @gitbeaker/rest client against a local GitLab that answers the documented Deployments
 * API. The deployment's record decides: approved by alice, rejected by bob, or still waiting (with
 * `timeout: 0s` and `onTimeout: pause` the gate looks once and hands the decision to `resume`).
 */
async function fixture(decision: 'approved' | 'rejected' | 'waiting', onTimeout: 'reject' | 'pause' = 'pause') {
  const server: GitlabServer = await startGitlabServer();
  const id = server.addDeployment({ environment: 'production', requiredApprovals: 1 });
  if (decision === 'approved') server.decide(id, 'alice', 'approved', 'dashboards green');
  if (decision === 'rejected') server.decide(id, 'bob', 'rejected', 'error budget spent');
  const config = gitlab.configSchema.parse({
    type: 'gitlab',
    url: server.url,
    project: 'acme/web',
    deployment: id,
    tokenEnv: 'GITLAB_TOKEN',
    timeout: '0s',
    onTimeout,
  });
  return {
    deps: (states: MemoryProviderStates) =>
      fakeDeps({ environment: 'production', secret: (name) => (name === 'GITLAB_TOKEN' ? server.token : undefined) }, { states }),
    create: (deps: ProviderDeps) => gitlab.create(config, deps),
    cleanup: () => server.close(),
  };
}

describeApproverContract('gitlab (approved)', async () => ({ ...(await fixture('approved')), decides: 'approved' }));
describeApproverContract('gitlab (rejected)', async () => ({ ...(await fixture('rejected')), decides: 'rejected' }));
describeApproverContract('gitlab (no decision yet: pause)', async () => ({ ...(await fixture('waiting')), decides: 'pending' }));
describeApproverContract('gitlab (no decision in time: reject)', async () => ({ ...(await fixture('waiting', 'reject')), decides: 'rejected' }));
