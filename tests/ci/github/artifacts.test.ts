import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeGitHub, unzip, type FakeGitHub } from './fake-github.js';
import { githubEnv, mainAndPost, NODES, nodeVersion, step, workspace, type Job } from './support.js';

/*
 * The artifact upload of the post step, through the real @actions/artifact client bundled in
 * action/dist, against a local artifact service answering its documented endpoints (Twirp
 * CreateArtifact / FinalizeArtifact, Azure Blob Put Block / Put Block List on the signed URL).
 *
 * @actions/artifact 6.2.1 pulls packages whose `engines` say node >=22 (@azure/storage-blob
 * 12.34.0, @azure/storage-common 12.5.0, @azure/core-rest-pipeline 1.25.1,
 * @typespec/ts-http-runtime 0.3.11, content-type 3.1.1). The action runs on node24 on GitHub, but
 * rollgate supports Node 20.19+, so the first test runs the bundled upload under Node 20 and
 * checks the archive byte for byte: the bundle does work there.
 */
const WORKFLOW = `version: 1
name: files
inputs:
  version: { default: v2 }
environments:
  staging: {}
sim:
  services:
    web: { version: v1 }
stages:
  - name: web
    environment: staging
    target: { type: sim, service: web }
`;

const node20 = NODES.find(([, node]) => nodeVersion(node).startsWith('v20.'));

let gh: FakeGitHub;
let dir: string;
beforeEach(async () => {
  gh = await startFakeGitHub();
  dir = await workspace();
  writeFileSync(join(dir, 'wf.yml'), WORKFLOW);
});
afterEach(async () => gh.close());

const job = (node: string, inputs: Record<string, string> = {}, extra: Record<string, string> = {}): Job => ({
  dir,
  node,
  inputs: { workflow: 'wf.yml', token: gh.token, deployments: 'false', ...inputs },
  env: githubEnv(dir, gh, 'deploy', extra),
});

// Fails, never skips, without a Node 20: what it proves is exactly that the bundle runs there.
describe(`the artifact upload under ${node20?.[0] ?? 'Node 20 (not found on this machine)'}`, () => {
  beforeEach(() => {
    if (!node20) throw new Error(`no Node 20 among ${NODES.map(([label]) => label).join(', ')}: these tests prove the bundled upload works on Node 20.19+, so they need one`);
  });

  it('uploads the journal and the audit trail as one zip, with its digest, through the bundled client', async () => {
    const { main, post } = await mainAndPost(job(node20?.[1] as string, { 'retention-days': '30' }));
    expect(main.outputs.result).toBe('succeeded');
    expect(post.code).toBe(0);
    expect(post.stdout).toContain('rollgate: uploaded artifact rollgate-audit-deploy-1 (id 4242,');
    expect(gh.requests.filter((r) => r.includes('/twirp/') || r.startsWith('PUT'))).toEqual([
      'POST /twirp/github.actions.results.api.v1.ArtifactService/CreateArtifact',
      'PUT /devstoreaccount1/artifacts/rollgate-audit-deploy-1.zip',
      'PUT /devstoreaccount1/artifacts/rollgate-audit-deploy-1.zip',
      'POST /twirp/github.actions.results.api.v1.ArtifactService/FinalizeArtifact',
    ]);
    const [artifact] = gh.artifacts;
    expect(artifact?.finalized).toBe(true);
    expect(artifact?.hash).toBe(`sha256:${createHash('sha256').update(artifact?.blob ?? '').digest('hex')}`);
    expect(artifact?.size).toBe(String(artifact?.blob.length));
    expect(Date.parse(artifact?.expiresAt ?? '') - Date.now()).toBeGreaterThan(29 * 24 * 3600 * 1000);
    const audit = main.outputs['audit-path'] as string;
    const files = unzip(artifact?.blob ?? Buffer.alloc(0));
    expect([...files.keys()].sort()).toEqual([audit, '.rollgate/run.json'].sort());
    expect(files.get(audit)?.equals(readFileSync(join(dir, audit)))).toBe(true);
    expect(files.get('.rollgate/run.json')?.equals(readFileSync(join(dir, '.rollgate/run.json')))).toBe(true);
  });
});

describe.each(NODES)('where artifacts are not available, under %s', (_label, node) => {
  it('on GitHub Enterprise Server: a clear warning, the files named, the job not failed', async () => {
    const { post } = await mainAndPost(job(node, {}, { GITHUB_SERVER_URL: 'https://ghes.example.com' }));
    expect(post.code).toBe(0);
    expect(post.annotations).toEqual([
      expect.objectContaining({
        level: 'warning',
        title: 'rollgate: journal and audit trail not uploaded',
        message: expect.stringMatching(/not available on GitHub Enterprise Server .*actions\/upload-artifact@v3.*\.rollgate\/run\.json/s),
      }),
    ]);
    expect(gh.artifacts).toEqual([]);
  });

  it('without the runtime token (not a runner): a warning, not a failure', async () => {
    const main = await step('main', job(node));
    const env = { ...githubEnv(dir, gh), ACTIONS_RUNTIME_TOKEN: '' };
    const post = await step('post', { ...job(node), env }, main.state);
    expect(post.code).toBe(0);
    expect(post.annotations[0]?.message).toMatch(/no artifact service in this job/);
  });

  it('a name already used in this run fails the post step, saying why', async () => {
    gh.artifacts.push({ name: 'rollgate-audit-deploy-1', blob: Buffer.alloc(0), finalized: true });
    const { post } = await mainAndPost(job(node));
    expect(post.code).toBe(1);
    expect(post.annotations.at(-1)?.message).toMatch(/^rollgate: artifact rollgate-audit-deploy-1 was not uploaded: .*409.*already exists/);
  });
});
