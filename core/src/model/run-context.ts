/**
 * Who and what started a run. Adapters (CLI, GitHub Action, GitLab component, Jenkins shim) build
 * it from their own variables; core never reads the environment itself.
 */
export interface RunContext {
  /** The person or bot that triggered the run (GITHUB_ACTOR, GITLAB_USER_LOGIN, BUILD_USER…). */
  actor: string;
  ci: 'github' | 'gitlab' | 'jenkins' | 'local';
  repository?: string;
  commit?: string;
  ref?: string;
  /** Link to the CI job, shown in notifications and the audit trail. */
  runUrl?: string;
  /** Link to the commit on the forge (GitHub, GitLab), shown in notifications. */
  commitUrl?: string;
  /** The CI job and its number, as the platform names them: `web/PR-42 #7`, `deploy #1234`. */
  job?: string;
  /** The pull or merge request the run builds, when there is one: `PR-42`, `!12`, `#42`. */
  change?: string;
}

export const localContext = (actor = 'local'): RunContext => ({ actor, ci: 'local' });
