import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunJournal } from '../../../core/src/index.js';
import { startFakeGitHub, type FakeGitHub } from './fake-github.js';
import { githubEnv, MACHINE_NODE, NODES, readJson, step, workspace, type Job } from './support.js';

/*
 * What the action hands the engine: the inputs (stage selection, environment, workflow inputs
 * in either form), the secrets masked before anything is printed, and an environment for deploy
 * commands without what only the action may hold (its inputs, the token, the runtime token).
 */
const WORKFLOW = `version: 1
name: cmd
inputs:
  version: { default: "1.0.0" }
secrets: [DEPLOY_KEY]
environments:
  staging: { url: https://staging.example.com }
  production: { url: https://prod.example.com }
stages:
  - name: staging
    environment: staging
    target:
      type: command
      deploy: [sh, -c, 'env > "env-$ROLLGATE_STAGE.txt"; echo "deploying $ROLLGATE_VERSION with $DEPLOY_KEY"']
      revert: [sh, -c, 'echo "back to $ROLLGATE_PREVIOUS_VERSION"']
      timeout: 30s
  - name: production
    environment: production
    needs: [staging]
    target:
      type: command
      deploy: [sh, -c, 'echo "production $ROLLGATE_VERSION"']
      revert: [sh, -c, 'echo "back to $ROLLGATE_PREVIOUS_VERSION"']
      timeout: 30s
audit:
  hmacKeyEnv: AUDIT_KEY
`;

let gh: FakeGitHub;
let dir: string;
beforeEach(async () => {
  gh = await startFakeGitHub();
  dir = await workspace();
  writeFileSync(join(dir, 'wf.yml'), WORKFLOW);
});
afterEach(async () => gh.close());

const job = (inputs: Record<string, string>, node = MACHINE_NODE): Job => ({
  dir,
  node,
  inputs: { workflow: 'wf.yml', token: gh.token, ...inputs },
  env: { ...githubEnv(dir, gh), DEPLOY_KEY: 'key-1234\nsecond-line-5678', AUDIT_KEY: 'audit-key-9' },
});

describe.each(NODES)('secrets and the environment of deploy commands, under %s', (_label, node) => {
  it('masks every secret the workflow names, line by line, before printing anything else', async () => {
    const r = await step('main', job({ inputs: 'version=2.0.0', stage: 'staging' }, node));
    expect(r.outputs.result).toBe('succeeded');
    const lines = r.stdout.split('\n');
    const masks = lines.filter((l) => l.startsWith('::add-mask::'));
    expect(masks.map((l) => l.slice('::add-mask::'.length)).sort()).toEqual(['audit-key-9', 'key-1234', 'second-line-5678', gh.token].sort());
    expect(lines.findIndex((l) => !l.startsWith('::add-mask::'))).toBeGreaterThanOrEqual(masks.length);
    expect(r.stdout).not.toMatch(/deploying 2\.0\.0 with key-1234/);

    // A deploy command gets what a `run:` step would: not the inputs, the state or the runtime token.
    const env = readFileSync(join(dir, 'env-staging.txt'), 'utf8');
    expect(env).toContain('GITHUB_REPOSITORY=acme/web');
    expect(env).not.toMatch(/^(INPUT_|STATE_|ACTIONS_RUNTIME_TOKEN|ACTIONS_RESULTS_URL)/m);
    expect(env).not.toContain(gh.token);
    // Variables rollgate reads itself (`*Env` fields: the audit key) are withheld by core.
    expect(env).not.toContain('audit-key-9');
    // The summary's report checked the trail's HMACs with that key.
    expect(r.summary).toContain('verifies');
  });
});

describe('inputs reach the engine', () => {
  it('stage: runs only the stages named; inputs as name=value lines', async () => {
    const r = await step('main', job({ stage: 'staging', inputs: 'version=2.0.0' }));
    const journal = await readJson<RunJournal>(join(dir, '.rollgate/run.json'));
    expect(Object.keys(journal.stages)).toEqual(['staging']);
    expect(journal.inputs).toEqual({ version: '2.0.0' });
    expect(r.outputs.deployments).toBe(JSON.stringify({ staging: gh.deployments[0]?.id }));
  });

  it('environment: runs only the stages of one environment; inputs as a YAML mapping', async () => {
    await step('main', job({ environment: 'production', inputs: 'version: "3.1.4"' }));
    const journal = await readJson<RunJournal>(join(dir, '.rollgate/run.json'));
    expect(Object.keys(journal.stages)).toEqual(['production']);
    expect(journal.stages.production?.version).toBe('3.1.4');
  });

  it("environment-url: shown on every deployment instead of the workflow's url", async () => {
    await step('main', job({ 'environment-url': 'https://preview-42.example.com' }));
    expect(gh.deployments.map((d) => [d.environment, d.statuses.map((s) => s.environment_url)])).toEqual([
      ['staging', ['https://preview-42.example.com', 'https://preview-42.example.com']],
      ['production', ['https://preview-42.example.com', 'https://preview-42.example.com']],
    ]);
  });

  it('deployments: false records none, and needs no token', async () => {
    const r = await step('main', job({ deployments: 'false', token: '' }));
    expect(r.outputs).toMatchObject({ result: 'succeeded', 'deployment-id': '', deployments: '{}' });
    expect(gh.requests.filter((x) => x.includes('/deployments'))).toEqual([]);
  });

  it('state-path: the journal goes where it says, and the output says where', async () => {
    const r = await step('main', job({ 'state-path': 'state/journal.json' }));
    expect(r.outputs['state-path']).toBe('state/journal.json');
    expect((await readJson<RunJournal>(join(dir, 'state/journal.json'))).status).toBe('succeeded');
  });
});
