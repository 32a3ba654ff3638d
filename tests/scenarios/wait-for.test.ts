import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseWorkflow, type RunEventKind } from '../../core/src/index.js';
import { first, load, ofKind, run, stage, trail } from './support.js';

/*
 * `waitFor`: a stage that needs something from the infrastructure first (a schema migration the
 * new version reads) waits for it, measuring the probe every interval; past the timeout it fails
 * with nothing changed. The simulated database applies migration 2 at the time the scenario says.
 */

const probes = { schema: { type: 'sim', measure: 'schema-version' } };
const waitFor = { check: 'probes.schema.value >= 2.0', message: 'v2 reads the orders.currency column of migration 2', timeout: '10m', interval: '1m' };
const kinds: RunEventKind[] = ['probes.measured', 'decision.made', 'infra.changed', 'stage.finished'];

describe('waitFor: a stage waits for a condition before it changes anything', () => {
  it('waits until the migration is applied, then deploys', async () => {
    const loaded = load({
      sim: { services: { web: { version: 'v1' } }, failures: [{ kind: 'migration-applied', schemaVersion: 2, at: '3m30s' }] },
      probes,
      stages: [stage('web', { waitFor })],
    });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('succeeded');
    // One snapshot when the wait starts, one when it ends; none of the changes before it ends.
    expect(trail(events, kinds)).toEqual(['probes.measured', 'decision.made:wait', 'probes.measured', 'decision.made:wait over', 'infra.changed:service/web.version: v1 -> v2', 'stage.finished:succeeded']);
    expect(ofKind(events, 'decision.made').map((d) => d.reason)).toEqual([
      'waiting up to 10m00s for probes.schema.value >= 2.0 (v2 reads the orders.currency column of migration 2): probes schema=1',
      'probes.schema.value >= 2.0 holds after 4m00s',
    ]);
  });

  it('does not wait, nor say so, when the condition already holds', async () => {
    const loaded = load({ sim: { services: { web: { version: 'v1' } }, database: { schemaVersion: 3 } }, probes, stages: [stage('web', { waitFor })] });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('succeeded');
    expect(trail(events, kinds)).toEqual(['probes.measured', 'infra.changed:service/web.version: v1 -> v2', 'stage.finished:succeeded']);
  });

  it('fails the stage with nothing changed when the wait runs out, saying what it saw last', async () => {
    const loaded = load({ sim: { services: { web: { version: 'v1' } } }, probes, stages: [stage('web', { waitFor: { ...waitFor, timeout: '5m', interval: '2m' } })] });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('failed');
    expect(outcome.exitCode).toBe(1);
    expect(ofKind(events, 'infra.changed')).toEqual([]);
    expect(trail(events, kinds)).toEqual(['probes.measured', 'decision.made:wait', 'probes.measured', 'decision.made:wait timed out', 'stage.finished:failed']);
    expect(outcome.journal.stages.web?.message).toBe(
      'waited 5m00s for probes.schema.value >= 2.0 (v2 reads the orders.currency column of migration 2); it still does not hold: probes schema=1; nothing was changed',
    );
    expect(first(events, 'decision.made')).toMatchObject({ evidence: { condition: 'probes.schema.value >= 2.0', probes: { schema: { ok: true, value: 1 } } } });
  });

  it('keeps waiting while the probe fails, and names the failure when the wait runs out', async () => {
    const loaded = load({
      sim: { services: { web: { version: 'v1' } }, failures: [{ kind: 'database-down', at: '0s' }] },
      probes,
      stages: [stage('web', { waitFor: { check: 'probes.schema.value >= 2.0', timeout: '3m', interval: '1m' } })],
    });
    const { outcome } = await run(loaded);
    expect(outcome.status).toBe('failed');
    expect(outcome.journal.stages.web?.message).toMatch(
      /^waited 3m00s for probes\.schema\.value >= 2\.0; it still does not hold: probes schema failed \(sim: database is down: cannot read the schema version\); the condition could not be evaluated: .+; nothing was changed$/,
    );
  });

  it('stops waiting at once when the run is cancelled', async () => {
    const loaded = load({ sim: { services: { web: { version: 'v1' } } }, probes, stages: [stage('web', { waitFor })] });
    const controller = new AbortController();
    const { outcome, events } = await run(loaded, {
      signal: controller.signal,
      subscribers: [(e) => e.kind === 'decision.made' && controller.abort(new Error('SIGINT'))],
    });
    expect(outcome.status).toBe('cancelled');
    expect(ofKind(events, 'infra.changed')).toEqual([]);
  });

  it('is refused when it reads a probe the workflow does not declare', () => {
    const text = stringify({
      version: 1,
      name: 'web',
      inputs: { version: { default: 'v2' } },
      environments: { production: {} },
      sim: {},
      stages: [stage('web', { waitFor: { check: 'probes.schemaa.value >= 2.0' } })],
    });
    const result = parseWorkflow(text, 'wait.yml');
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.errors.map((e) => `${e.path}: ${e.message}`)).toEqual([expect.stringMatching(/^stages\[web\]\.waitFor\.check: .*schemaa/)]);
  });
});
