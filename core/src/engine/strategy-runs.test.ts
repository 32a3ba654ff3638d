import { describe, expect, it } from 'vitest';
import { loadTestWorkflow, runTestWorkflow } from '../testing/workflows.js';
import { resumeRun } from './executor.js';

/* Strategy behaviour the failure scenarios (tests/scenarios) do not reach, on the simulation. */
const sim = { nodes: 4, services: { web: { version: 'v1' } } };
const stage = (strategy: object, extra: object = {}) => ({
  name: 'web',
  environment: 'production',
  target: { type: 'sim', service: 'web' },
  router: { type: 'sim', service: 'web' },
  strategy,
  ...extra,
});
const errors = (condition = 'result < 0.05', extra: object = {}) => ({
  metrics: [{ name: 'errors', query: 'candidate-error-rate', successCondition: condition, interval: '10s', count: 3, ...extra }],
});
const bad = (errorRate: number) => ({ ...sim, failures: [{ kind: 'bad-version', version: 'v2', errorRate }] });

describe('canary', () => {
  it('background analysis failing mid-pause stops the rollout and rolls it back', async () => {
    const loaded = loadTestWorkflow({
      sim: bad(0.04),
      stages: [stage({ type: 'canary', steps: [{ setWeight: 20 }, { pause: { duration: '10m' } }], analysis: errors('result < 0.02') })],
    });
    const { outcome, events } = await runTestWorkflow(loaded);
    expect(outcome.status).toBe('rolled-back');
    const abort = events.find((e) => e.kind === 'decision.made' && e.decision === 'abort');
    expect(abort).toMatchObject({ reason: expect.stringMatching(/^background analysis failed: errors: 1 failed measurement/) });
    expect(events.findIndex((e) => e.kind === 'rollback.started')).toBeGreaterThan(events.indexOf(abort as never));
  });

  it('background analysis turning inconclusive pauses at the next step, and resume goes on', async () => {
    const loaded = loadTestWorkflow({
      sim: bad(0.03),
      stages: [
        stage({
          type: 'canary',
          steps: [{ setWeight: 20 }, { pause: { duration: '1m' } }, { setWeight: 50 }],
          analysis: { metrics: [{ name: 'errors', query: 'candidate-error-rate', successCondition: 'result < 0.02', failureCondition: 'result > 0.1', interval: '10s' }] },
        }),
      ],
    });
    const { outcome, store } = await runTestWorkflow(loaded);
    expect(outcome.status).toBe('paused');
    expect(outcome.journal.stages.web?.pausedAt).toBe('analysis-web');
    const resumed = await resumeRun({ loaded, store, context: { actor: 'bob', ci: 'local' }, decision: { approve: false, by: 'bob' } });
    expect(resumed.status).toBe('rolled-back');
  });

  it('without a router, a failed canary scales the stable version back before removing the canary', async () => {
    const loaded = loadTestWorkflow({
      sim: bad(0.04),
      stages: [{ ...stage({ type: 'canary', steps: [{ setWeight: 50 }, { setCanaryScale: { replicas: '50%' } }, { analysis: errors('result < 0.02') }] }), router: undefined }],
    });
    const { outcome, events } = await runTestWorkflow(loaded);
    expect(outcome.status).toBe('rolled-back');
    const undone = events.filter((e) => e.kind === 'rollback.step').map((e) => (e.kind === 'rollback.step' ? e.compensation : ''));
    expect(undone[0]).toMatch(/^scale the stable version of web back to 4 replicas/);
    expect(undone.at(-1)).toMatch(/^send all traffic back to v1 and remove v2 from web/);
  });

  it('an approval step pauses the run; resume --approve promotes', async () => {
    const loaded = loadTestWorkflow({ sim, stages: [stage({ type: 'canary', steps: [{ setWeight: 10 }, { approval: { message: 'check the dashboard' } }] })] });
    const { outcome, store } = await runTestWorkflow(loaded);
    expect(outcome.status).toBe('paused');
    const resumed = await resumeRun({ loaded, store, context: { actor: 'bob', ci: 'local' }, decision: { approve: true, by: 'bob' } });
    expect(resumed.status).toBe('succeeded');
    expect(resumed.journal.stages.web?.steps.map((s) => s.id)).toEqual(['deploy-canary', 'verify-canary', 'weight-10@1', 'approval@2', 'promote']);
  });
});

describe('blue-green', () => {
  it('failing smoke checks stop it before the switch, and green is removed', async () => {
    const loaded = loadTestWorkflow({
      sim: { ...sim, database: { up: false } },
      probes: { db: { type: 'sim', measure: 'database' } },
      stages: [stage({ type: 'blue-green', smoke: ['db'] })],
    });
    const { outcome, events } = await runTestWorkflow(loaded);
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.journal.stages.web?.message).toMatch(/^smoke checks failed: db: /);
    expect(events.filter((e) => e.kind === 'weight.changed')).toHaveLength(0);
  });
});

describe('guards and pre-flight checks', () => {
  it('a guard whose condition cannot be evaluated counts as broken, with the reason', async () => {
    const loaded = loadTestWorkflow({
      sim,
      probes: { ver: { type: 'sim', measure: 'version', service: 'web' } },
      stages: [stage({ type: 'canary', steps: [{ setWeight: 10 }, { pause: { duration: '1m' } }] }, { guards: [{ check: 'probes.ver.value > 1.0' }] })],
    });
    const { outcome } = await runTestWorkflow(loaded);
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.journal.stages.web?.message).toMatch(/^guard broke: probes.ver.value > 1.0 \(condition 'probes.ver.value > 1.0' failed/);
  });

  it('a pre-flight check that fails stops the stage with nothing changed, citing its message', async () => {
    const loaded = loadTestWorkflow({
      sim,
      probes: { cap: { type: 'sim', measure: 'free-capacity' } },
      stages: [stage({ type: 'blue-green' }, { preflight: [{ check: 'probes.cap.value >= 100.0', message: 'no room for green' }] })],
    });
    const { outcome, events } = await runTestWorkflow(loaded);
    expect(outcome.status).toBe('failed');
    expect(outcome.journal.stages.web?.message).toBe('pre-flight check failed: probes.cap.value >= 100.0 (no room for green); nothing was changed');
    expect(events.filter((e) => e.kind === 'infra.changed')).toHaveLength(0);
  });
});

describe('auto', () => {
  it('falls back to `otherwise` when no rule holds, recording the probe values', async () => {
    const loaded = loadTestWorkflow({
      sim,
      probes: { cap: { type: 'sim', measure: 'free-capacity' } },
      stages: [stage({ type: 'auto', rules: [{ when: 'probes.cap.value >= 1000.0', use: { type: 'blue-green' } }], otherwise: { type: 'canary', stepWeight: 50 } })],
    });
    const { outcome, events } = await runTestWorkflow(loaded);
    expect(outcome.status).toBe('succeeded');
    expect(events.find((e) => e.kind === 'decision.made' && e.decision.startsWith('strategy'))).toMatchObject({
      decision: 'strategy canary',
      reason: 'no rule holds (probes.cap.value >= 1000.0), so the fallback',
    });
  });
});
