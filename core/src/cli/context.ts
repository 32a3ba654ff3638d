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
        job: numbered(env.GITHUB_WORKFLOW, env.GITHUB_RUN_NUMBER),
        change: pullRequest(env.GITHUB_REF),
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
        job: numbered(env.CI_JOB_NAME, env.CI_JOB_ID),
        change: env.CI_MERGE_REQUEST_IID ? `!${env.CI_MERGE_REQUEST_IID}` : undefined,
      },
    );
  }
  // JENKINS_URL is unset when the controller's URL is not configured; JENKINS_HOME is always there.
  if (env.JENKINS_URL || env.JENKINS_HOME) {
    return withOptional(
      { actor: actorOverride ?? pick('BUILD_USER_ID', 'BUILD_USER') ?? 'jenkins', ci: 'jenkins' },
      {
        repository: env.GIT_URL ? withoutCredentials(env.GIT_URL) : undefined,
        commit: env.GIT_COMMIT,
        // Multibranch jobs set BRANCH_NAME (main, PR-42); the git plugin's GIT_BRANCH is origin/main.
        ref: pick('BRANCH_NAME', 'GIT_BRANCH'),
        runUrl: env.BUILD_URL,
        job: numbered(env.JOB_NAME, env.BUILD_NUMBER),
        // Multibranch pull-request builds: CHANGE_ID is the PR number, BRANCH_NAME is PR-<id>.
        change: env.CHANGE_ID ? `PR-${env.CHANGE_ID}` : undefined,
      },
    );
  }
  return { actor: actorOverride ?? pick('ROLLGATE_ACTOR', 'USER', 'USERNAME') ?? 'local', ci: 'local' };
}

/**
 * A clone URL without the user and password some jobs put in it (https://user:token@host/…): the
 * repository goes into the journal, the audit trail and every notification.
 */
function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
}

/** `name #number`, or the name alone, or nothing. */
function numbered(name: string | undefined, number: string | undefined): string | undefined {
  if (!name) return undefined;
  return number ? `${name} #${number}` : name;
}

/** `#42` for a pull request's ref (`refs/pull/42/merge`). */
function pullRequest(ref: string | undefined): string | undefined {
  const number = /^refs\/pull\/(\d+)\//.exec(ref ?? '')?.[1];
  return number ? `#${number}` : undefined;
}
