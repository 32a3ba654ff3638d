import type { RunContext } from '../model/run-context.js';

/**
 * Builds the RunContext from the CI platform's own variables. The CLI is the edge: this is one of
 * the few places that reads the environment.
 */
export function contextFromEnv(env: NodeJS.ProcessEnv, actorOverride?: string): RunContext {
  const pick = (...names: string[]) => names.map((n) => env[n]).find((v) => v !== undefined && v !== '');
  const withOptional = (base: RunContext, extra: Record<string, string | undefined>): RunContext => {
    const out: RunContext = { ...base };
    for (const [k, v] of Object.entries(extra)) if (v) (out as unknown as Record<string, string>)[k] = v;
    return out;
  };
  if (env.GITHUB_ACTIONS === 'true') {
    const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
    return withOptional(
      { actor: actorOverride ?? env.GITHUB_ACTOR ?? 'unknown', ci: 'github' },
      {
        repository: env.GITHUB_REPOSITORY,
        commit: env.GITHUB_SHA,
        ref: env.GITHUB_REF,
        runUrl: env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : undefined,
        commitUrl: env.GITHUB_REPOSITORY && env.GITHUB_SHA ? `${server}/${env.GITHUB_REPOSITORY}/commit/${env.GITHUB_SHA}` : undefined,
      },
    );
  }
  if (env.GITLAB_CI === 'true') {
    return withOptional(
      { actor: actorOverride ?? env.GITLAB_USER_LOGIN ?? 'unknown', ci: 'gitlab' },
      {
        repository: env.CI_PROJECT_PATH,
        commit: env.CI_COMMIT_SHA,
        ref: env.CI_COMMIT_REF_NAME,
        runUrl: env.CI_JOB_URL,
        commitUrl: env.CI_PROJECT_URL && env.CI_COMMIT_SHA ? `${env.CI_PROJECT_URL}/-/commit/${env.CI_COMMIT_SHA}` : undefined,
      },
    );
  }
  if (env.JENKINS_URL) {
    return withOptional(
      { actor: actorOverride ?? pick('BUILD_USER_ID', 'BUILD_USER') ?? 'jenkins', ci: 'jenkins' },
      { repository: env.GIT_URL, commit: env.GIT_COMMIT, ref: env.GIT_BRANCH, runUrl: env.BUILD_URL },
    );
  }
  return { actor: actorOverride ?? pick('ROLLGATE_ACTOR', 'USER', 'USERNAME') ?? 'local', ci: 'local' };
}
