import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseWorkflow } from './load.js';

/* What the strategy rules refuse, each message checked: they read only what strategies and targets declare. */

function errors(stage: Record<string, unknown>, extra: Record<string, unknown> = {}): string[] {
  const text = stringify({
    version: 1,
    name: 'web',
    inputs: { version: { default: 'v2' } },
    environments: { prod: {} },
    stages: [{ name: 'web', environment: 'prod', ...stage }],
    ...extra,
  });
  const result = parseWorkflow(text, 'w.yml');
  return result.ok ? [] : result.errors.map((e) => `${e.path}: ${e.message}`);
}

const command = { type: 'command', deploy: ['true'] };
const sim = { type: 'sim', service: 'web' };

describe('strategy capabilities', () => {
  it('refuses a strategy whose target lacks a capability it needs, naming the targets that have it', () => {
    expect(errors({ target: command, router: { type: 'sim' }, strategy: { type: 'canary', steps: [{ setWeight: 10 }] } })).toEqual([
      'stages[web].strategy.type: canary needs a target with the candidates capability (running two versions side by side): app-service, cloud-run, container-apps, ecs, fleet, kubernetes, sim, swarm; the command target has neither. Use direct, or a target that can.',
    ]);
    expect(errors({ target: command, strategy: { type: 'progressive' } })).toEqual([
      'stages[web].strategy.type: progressive needs a target with the fleet capability (a fleet of units changed in waves): fleet, kubernetes, sim; the command target has neither. Use direct, or a target that can.',
    ]);
  });

  it('refuses blue-green without a router, also as a choice of auto', () => {
    const message = 'blue-green switches traffic with a router: add `router` to the stage (without one, traffic cannot move while both versions run)';
    expect(errors({ target: sim, strategy: { type: 'blue-green' } })).toEqual([`stages[web].strategy.type: ${message}`]);
    expect(errors({ target: sim, strategy: { type: 'auto', rules: [{ when: 'true', use: { type: 'blue-green' } }], otherwise: { type: 'direct' } } })).toEqual([
      `stages[web].strategy.rules[0].use.type: ${message}`,
    ]);
  });

  it('refuses canary weights that go down', () => {
    expect(errors({ target: sim, router: { type: 'sim' }, strategy: { type: 'canary', steps: [{ setWeight: 50 }, { setWeight: 20 }] } })).toEqual([
      'stages[web].strategy.steps[1].setWeight: weights only go up: 20 comes after 50 (a rollback is what lowers them)',
    ]);
  });
});

describe('waits and deadlines', () => {
  it('refuses a wait longer than the step or the stage deadline', () => {
    expect(errors({ target: sim, router: { type: 'sim' }, strategy: { type: 'canary', steps: [{ setWeight: 10 }, { pause: { duration: '20m' } }] } })).toEqual([
      'stages[web].strategy.steps[1].pause.duration: 20m00s is longer than defaults.stepTimeout (15m00s): the step would always time out; raise defaults.stepTimeout',
    ]);
    expect(errors({ target: sim, timeout: '1m', strategy: { type: 'progressive', bake: '2m' } })).toEqual([
      "stages[web].verify.timeout: 5m00s is longer than the stage deadline (1m00s); raise the stage's timeout",
      "stages[web].strategy.bake: 2m00s is longer than the stage deadline (1m00s); raise the stage's timeout",
    ]);
  });
});

describe('references', () => {
  it('refuses undeclared templates, metric providers, smoke probes and probes in auto rules', () => {
    const found = errors({
      target: sim,
      router: { type: 'sim' },
      strategy: {
        type: 'auto',
        rules: [{ when: 'probes.capacity.ok', use: { type: 'blue-green', smoke: ['ping'], prePromotionAnalysis: { templates: ['nope'] } } }],
        otherwise: { type: 'canary', steps: [{ analysis: { metrics: [{ name: 'e', provider: 'prom', query: 'q', successCondition: 'result < 1.0' }] } }] },
      },
    });
    expect(found).toEqual([
      'stages[web].strategy.rules[0].when: condition reads probes.capacity, which is not declared under probes (declared: none)',
      "stages[web].strategy.rules[0].use.smoke[0]: probe 'ping' is not declared under probes",
      "stages[web].strategy.rules[0].use.prePromotionAnalysis.templates[0]: analysis template 'nope' is not declared under analyses (declared: none)",
      "stages[web].strategy.otherwise.steps[0].analysis.metrics[0].provider: metric provider 'prom' is not declared under metricProviders (declared: sim)",
    ]);
  });
});
