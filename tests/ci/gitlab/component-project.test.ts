import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPONENT, dotenvOf, gitlabCiLocal, jobLog, repository, requirePrerequisites, ROOT } from './support.js';

/*
 * The component project's own pipeline (gitlab-component/.gitlab-ci.yml), the way GitLab runs it
 * in that project: it includes the component at the commit under test
 * (`$CI_SERVER_FQDN/$CI_PROJECT_PATH/rollgate@$CI_COMMIT_SHA`, which gitlab-ci-local, like GitLab,
 * reads from the project's own templates/), plans and runs it, and releases only on a tag.
 */

let dir: string;
beforeAll(async () => {
  requirePrerequisites();
  dir = await repository({ '.': { copy: join(ROOT, 'gitlab-component') } }, COMPONENT.project);
}, 30_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the component project pipeline', () => {
  it('tests the component at this commit (plan, then run) and skips the release without a tag', async () => {
    const result = await gitlabCiLocal(dir);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/PASS\s+test-plan/);
    expect(result.output).toMatch(/PASS\s+test-run/);
    expect(result.output).not.toMatch(/create-release\s+starting/);
    expect(jobLog(result.output, 'test-plan')).toContain('rollgate: ROLLGATE_RESULT=planned ROLLGATE_EXIT_CODE=0 ROLLGATE_MODE=plan');
    expect(await dotenvOf(dir, 'test-run')).toMatchObject({ ROLLGATE_RESULT: 'succeeded', ROLLGATE_EXIT_CODE: '0', ROLLGATE_RUN_STATUS: 'succeeded' });
  }, 120_000);
});
