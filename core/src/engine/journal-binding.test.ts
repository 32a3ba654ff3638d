import { describe, expect, it } from 'vitest';
import type { RunJournal } from '../model/journal.js';
import { loadTestWorkflow } from '../testing/workflows.js';
import { bindingOf, checkBinding, rebuildSecretInputs, secretInputParts } from './journal-binding.js';

const loaded = loadTestWorkflow({
  inputs: { version: { default: 'v2' }, region: { default: 'eu' } },
  environments: { prod: {} },
  stages: [{ name: 'web', environment: 'prod', target: { type: 'command', deploy: ['true'] } }],
});

function journal(edit: (j: RunJournal) => void = () => {}, key?: string): RunJournal {
  const j: RunJournal = {
    format: 'rollgate/run-journal@1',
    runId: 'web-1',
    workflow: { name: 'web', path: '/w.yml', sha256: loaded.sha256 },
    context: { actor: 'a', ci: 'local' },
    inputs: { version: 'v2', region: 'eu' },
    selection: {},
    status: 'paused',
    createdAt: '',
    updatedAt: '',
    seq: 1,
    stages: { web: { status: 'paused', environment: 'prod', version: 'v2', steps: [], compensations: [] } },
  };
  j.workflow.binding = bindingOf(j, key);
  edit(j);
  return j;
}

const check = (j: RunJournal, opts: { key?: string; changedWorkflow?: boolean } = {}) =>
  checkBinding(j, loaded.workflow, j.inputs, { location: 'run.json', mask: (t) => t, ...opts });

describe('the binding of a journal to its run', () => {
  it('accepts the journal its run wrote, and gives the versions the inputs make', () => {
    expect(check(journal())).toEqual(new Map([['web', 'v2']]));
    expect(check(journal(() => {}, 'k'), { key: 'k' })).toEqual(new Map([['web', 'v2']]));
  });

  it('refuses an edited version, input or selection, a missing binding, and another key', () => {
    expect(() => check(journal((j) => void ((j.stages.web as { version: string }).version = 'v3')))).toThrow(
      /^run journal run\.json does not match the run that wrote it: its inputs, stage selection or versions changed since it was written\. It was edited, or belongs to another workflow; it was left as it is\./,
    );
    expect(() => check(journal((j) => void (j.inputs.region = 'us')))).toThrow(/its inputs, stage selection or versions changed/);
    expect(() => check(journal((j) => delete j.workflow.binding))).toThrow(/it carries no binding hash/);
    expect(() => check(journal(() => {}, 'k'), { key: 'other' })).toThrow(/changed since it was written \(or the audit HMAC key differs\)/);
  });

  it('refuses, even with a binding recomputed by hand, a version the inputs do not give, or stages the workflow does not have', () => {
    const rebound = (edit: (j: RunJournal) => void) =>
      journal((j) => {
        edit(j);
        j.workflow.binding = bindingOf(j);
      });
    expect(() => check(rebound((j) => void ((j.stages.web as { version: string }).version = 'v3')))).toThrow(/stage web records version 'v3', but its inputs give 'v2'/);
    expect(() => check(rebound((j) => void (j.stages.api = { ...(j.stages.web as RunJournal['stages'][string]) })))).toThrow(
      /its stages \(web, api\) are not the workflow's \(web\)/,
    );
    expect(() => check(rebound((j) => void (j.inputs.colour = 'red')))).toThrow(/its inputs or selection are not valid for the workflow \(invalid inputs: .*unknown input 'colour'/);
    // A rollback with a changed workflow file checks only the binding.
    expect(check(rebound((j) => void (j.inputs.colour = 'red')), { changedWorkflow: true })).toEqual(new Map());
  });
});

describe('inputs that hold secrets', () => {
  it('are split around the secrets they hold, and rebuilt from the environment', () => {
    const parts = secretInputParts({ token: 'a:S3CRET:b:S3CRET', plain: 'x', short: 'ab' }, [
      { name: 'TOKEN', value: 'S3CRET' },
      { name: 'TINY', value: 'ab' },
    ]);
    expect(parts).toEqual({ token: ['a:', { env: 'TOKEN' }, ':b:', { env: 'TOKEN' }] });
    expect(secretInputParts({ plain: 'x' }, [])).toBeUndefined();
    const j = journal((x) => {
      x.inputs.token = 'a:***:b:***';
      x.secretInputs = parts;
    });
    expect(rebuildSecretInputs(j, { TOKEN: 'S3CRET' }).token).toBe('a:S3CRET:b:S3CRET');
  });
});
