import { describe, expect, it } from 'vitest';
import { fakeDeps } from '../testing/fakes.js';
import { createTarget } from './wiring.js';
import { workflowSchema, type Stage } from '../definition/schema.js';
import { compensationOps } from './compensations.js';

/* What a person is told to do when an undo keeps failing: one sentence per kind of undo. */
const stage = (extra: object = {}) =>
  workflowSchema.parse({
    version: 1,
    name: 'web',
    environments: { prod: {} },
    stages: [{ name: 'web', environment: 'prod', version: 'v2', target: { type: 'sim' }, ...extra }],
  }).stages[0] as never;

describe('compensation instructions', () => {
  it.each<[keyof typeof compensationOps, Record<string, unknown>, string]>([
    ['target.revert', { previous: { version: 'v1' }, version: 'v2' }, 'put v1 back on the sim target of stage web (environment prod)'],
    ['target.revert', { previous: null, version: 'v2' }, 'remove what stage web (environment prod) deployed (v2): it was a first deploy'],
    [
      'target.revert',
      { previous: null, version: 'v2', unknownPrevious: true },
      'undo v2 on stage web (environment prod) by hand: the version before it is unknown (add a `current` command so rollgate can tell)',
    ],
    ['router.reset', {}, 'send all traffic of stage web (environment prod) to the stable version (canary weight 0)'],
    ['candidate.restore-scale', { stable: 4 }, 'scale the stable version of stage web (environment prod) back to 4 replicas and the new one to 0'],
    ['candidate.remove', { version: 'v2' }, 'remove v2 from stage web (environment prod) and send all traffic to the stable version'],
    ['unit.revert', { unit: 'node-3', previous: 'v1' }, 'put v1 back on node-3 (stage web (environment prod))'],
    ['unit.revert', { unit: 'node-3', previous: null }, 'remove the new version from node-3 (stage web (environment prod))'],
  ])('%s %j', (op, params, text) => {
    expect(compensationOps[op].instructions(stage(), params)).toBe(text);
  });

  it('refuses candidate and fleet undos on a target without those abilities, saying why', async () => {
    const command = stage({ target: { type: 'command', deploy: ['true'] } });
    const target = createTarget((command as Stage).target, fakeDeps());
    const deps = { target: () => target, router: () => undefined };
    await expect(compensationOps['candidate.remove'].run(command, {}, deps, undefined as never)).rejects.toThrow('the command target of web cannot manage a candidate');
    await expect(compensationOps['unit.revert'].run(command, { unit: 'a' }, deps, undefined as never)).rejects.toThrow('the command target of web is not a fleet');
    await expect(compensationOps['router.reset'].run(command, {}, deps, undefined as never)).resolves.toBeUndefined();
  });
});
