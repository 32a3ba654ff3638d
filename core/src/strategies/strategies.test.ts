import { describe, expect, it } from 'vitest';
import type { AnalysisRef, MetricSpec } from '../ports/strategy.js';
import { describeAmount, resolveAmount } from './amount.js';
import * as auto from './auto.js';
import * as blueGreen from './blue-green.js';
import * as canary from './canary.js';
import * as direct from './direct.js';
import * as progressive from './progressive.js';

/* Strategies are pure planners: each config maps to a list of steps, table-tested here. */
const metric = (name: string): MetricSpec => ({
  name,
  provider: 'sim',
  query: 'candidate-error-rate',
  successCondition: 'result < 0.05',
  intervalMs: 1000,
  count: 1,
  initialDelayMs: 0,
  failureLimit: 0,
  consecutiveErrorLimit: 4,
  inconclusiveLimit: 0,
  onNoData: 'inconclusive',
  dryRun: false,
});
const resolve = (ref: AnalysisRef) => (ref.templates ?? []).map(metric);
const ids = (steps: { id: string }[]) => steps.map((s) => s.id);

describe('direct', () => {
  it('deploys and verifies, with an optional bake and second verification', () => {
    expect(ids(direct.create().plan(direct.configSchema.parse({ type: 'direct' }), resolve))).toEqual(['deploy', 'verify']);
    const baked = direct.create().plan(direct.configSchema.parse({ type: 'direct', bake: '2m' }), resolve);
    expect(baked).toContainEqual({ id: 'bake', action: 'pause', durationMs: 120_000 });
    expect(ids(baked)).toEqual(['deploy', 'verify', 'bake', 'verify-after-bake']);
  });
});

describe('canary', () => {
  const plan = (input: object) => {
    const config = canary.configSchema.parse({ type: 'canary', ...input });
    return { steps: canary.create().plan(config, resolve), runtime: canary.create().runtime?.(config, resolve) };
  };

  it('turns explicit steps into a plan that starts the canary and ends with promotion', () => {
    const { steps, runtime } = plan({
      steps: [
        { setWeight: 10 },
        { pause: { duration: '1m' } },
        { analysis: { templates: ['errors'] } },
        { pause: {} },
        { approval: { message: 'look at the dashboards' } },
        { approval: {} },
        { setCanaryScale: { replicas: '50%' } },
        { setWeight: 50 },
      ],
      analysis: { templates: ['bg'] },
    });
    expect(steps).toEqual([
      { id: 'deploy-canary', action: 'deploy-candidate', replicas: { count: 1 } },
      { id: 'verify-canary', action: 'verify-candidate' },
      { id: 'weight-10@1', action: 'set-weight', weight: 10 },
      { id: 'pause@2', action: 'pause', durationMs: 60_000 },
      { id: 'analysis@3', action: 'analysis', metrics: [metric('errors')] },
      { id: 'pause@4', action: 'approval' },
      { id: 'approval@5', action: 'approval', message: 'look at the dashboards' },
      { id: 'approval@6', action: 'approval' },
      { id: 'scale@7', action: 'set-candidate-scale', replicas: { percent: 50 } },
      { id: 'weight-50@8', action: 'set-weight', weight: 50 },
      { id: 'promote', action: 'promote' },
    ]);
    expect(runtime).toEqual({ abortScaleDownDelayMs: 30_000, backgroundAnalysis: [metric('bg')] });
  });

  it('expands the stepWeight shorthand up to maxWeight, capping the last step', () => {
    const { steps, runtime } = plan({ stepWeight: 30, maxWeight: 80, stepInterval: '30s', stepAnalysis: { templates: ['e'] }, abortScaleDownDelay: '0s' });
    expect(steps.filter((s) => s.action === 'set-weight').map((s) => (s.action === 'set-weight' ? s.weight : 0))).toEqual([30, 60, 80]);
    expect(steps.filter((s) => s.action === 'pause')).toHaveLength(3);
    expect(steps.filter((s) => s.action === 'analysis')).toHaveLength(3);
    expect(runtime).toEqual({ abortScaleDownDelayMs: 0 });
    expect(plan({ stepWeight: 50 }).steps.filter((s) => s.action === 'set-weight')).toHaveLength(2);
  });

  it('refuses both or neither of steps and stepWeight, and weights above 100', () => {
    expect(canary.configSchema.safeParse({ type: 'canary' }).success).toBe(false);
    expect(canary.configSchema.safeParse({ type: 'canary', steps: [], stepWeight: 10 }).success).toBe(false);
    expect(canary.configSchema.safeParse({ type: 'canary', steps: [{ setWeight: 120 }] }).success).toBe(false);
  });
});

describe('blue-green', () => {
  const plan = (input: object) => {
    const config = blueGreen.configSchema.parse({ type: 'blue-green', ...input });
    return { steps: blueGreen.create().plan(config, resolve), runtime: blueGreen.create().runtime?.(config, resolve) };
  };

  it('deploys green at full scale, switches, keeps blue for the delay, then removes it', () => {
    const { steps, runtime } = plan({});
    expect(ids(steps)).toEqual(['deploy-green', 'verify-green', 'switch', 'scale-down-delay', 'remove-blue']);
    expect(steps[0]).toEqual({ id: 'deploy-green', action: 'deploy-candidate', replicas: 'full' });
    expect(steps[2]).toEqual({ id: 'switch', action: 'set-weight', weight: 100 });
    expect(runtime).toEqual({ abortScaleDownDelayMs: 0 });
  });

  it('adds smoke checks, analyses and a manual switch when asked', () => {
    const { steps, runtime } = plan({
      smoke: ['preview'],
      prePromotionAnalysis: { templates: ['pre'] },
      postPromotionAnalysis: { templates: ['post'] },
      autoPromote: false,
      scaleDownDelay: '0s',
      previewUrl: 'https://preview.example',
    });
    expect(ids(steps)).toEqual(['deploy-green', 'verify-green', 'smoke', 'pre-promotion-analysis', 'approve-switch', 'switch', 'post-promotion-analysis', 'remove-blue']);
    expect(steps[2]).toEqual({ id: 'smoke', action: 'smoke', probes: ['preview'] });
    expect(runtime).toEqual({ abortScaleDownDelayMs: 0, previewUrl: 'https://preview.example' });
  });
});

describe('progressive', () => {
  const plan = (input: object) => {
    const config = progressive.configSchema.parse({ type: 'progressive', ...input });
    return { steps: progressive.create().plan(config, resolve), runtime: progressive.create().runtime?.(config, resolve) };
  };

  it('plans the default waves, adding the final 100%, with bakes between them', () => {
    const { steps, runtime } = plan({ bake: '1m' });
    expect(steps.filter((s) => s.action === 'wave')).toEqual([
      { id: 'wave-1', action: 'wave', index: 1, upTo: { count: 1 } },
      { id: 'wave-2', action: 'wave', index: 2, upTo: { percent: 10 } },
      { id: 'wave-3', action: 'wave', index: 3, upTo: { percent: 50 } },
      { id: 'wave-4', action: 'wave', index: 4, upTo: { percent: 100 } },
    ]);
    expect(steps.filter((s) => s.action === 'pause')).toHaveLength(4);
    expect(runtime).toEqual({ fleet: { maxParallel: { count: 10 }, maxUnavailable: { percent: 10 }, failureBudget: { count: 0 }, verify: true } });
  });

  it('appends a final wave to 100% when the list stops short, and none when it ends there', () => {
    expect(ids(plan({ waves: [5, '20%'] }).steps)).toEqual(['wave-1', 'wave-2', 'wave-3']);
    expect(ids(plan({ waves: ['100%'] }).steps)).toEqual(['wave-1']);
    expect(ids(plan({ waves: [200] }).steps)).toEqual(['wave-1', 'wave-2']);
  });
});

describe('auto', () => {
  it('plans one choose step: the choice needs the probe values', () => {
    const config = auto.configSchema.parse({ type: 'auto', rules: [{ when: 'probes.cap.value > 4.0', use: { type: 'blue-green' } }], otherwise: { type: 'direct' } });
    expect(auto.create().plan(config, resolve)).toEqual([{ id: 'choose-strategy', action: 'choose' }]);
    expect(auto.configSchema.safeParse({ type: 'auto', rules: [], otherwise: { type: 'direct' } }).success).toBe(false);
  });
});

describe('amounts', () => {
  it('resolve counts and percentages, rounding percentages up and capping at the full scale', () => {
    expect(resolveAmount({ count: 3 }, 10)).toBe(3);
    expect(resolveAmount({ count: 30 }, 10)).toBe(10);
    expect(resolveAmount({ percent: 1 }, 50)).toBe(1);
    expect(resolveAmount({ percent: 10 }, 200)).toBe(20);
    expect(resolveAmount({ percent: 100 }, 7)).toBe(7);
    expect(describeAmount({ count: 2 })).toBe('2');
    expect(describeAmount({ percent: 25 })).toBe('25%');
  });
});

describe('what strategies declare to the rules', () => {
  it('direct: only its bake', () => {
    expect(direct.create().declares(direct.configSchema.parse({ type: 'direct' }))).toMatchObject({ needs: [], waits: [] });
    expect(direct.create().declares(direct.configSchema.parse({ type: 'direct', bake: '1m' })).waits).toEqual([{ path: ['bake'], ms: 60_000 }]);
  });

  it('canary: candidates, its waits and analyses, and weights that go down', () => {
    const config = canary.configSchema.parse({
      type: 'canary',
      stepInterval: '1m',
      analysis: { templates: ['bg'] },
      stepAnalysis: { templates: ['each'] },
      steps: [{ setWeight: 50 }, { pause: { duration: '2m' } }, { pause: {} }, { analysis: { templates: ['a'] } }, { setWeight: 20 }],
    });
    const d = canary.create().declares(config);
    expect(d.needs).toEqual(['candidates']);
    expect(d.router).toBeUndefined();
    expect(d.waits).toEqual([
      { path: ['stepInterval'], ms: 60_000 },
      { path: ['steps', 1, 'pause', 'duration'], ms: 120_000 },
    ]);
    expect(d.analyses.map((a) => a.path)).toEqual([['analysis'], ['stepAnalysis'], ['steps', 3, 'analysis']]);
    expect(d.problems).toEqual([{ path: ['steps', 4, 'setWeight'], message: 'weights only go up: 20 comes after 50 (a rollback is what lowers them)' }]);
    const plain = canary.create().declares(canary.configSchema.parse({ type: 'canary', stepWeight: 50 }));
    expect(plain).toMatchObject({ waits: [], analyses: [], problems: [] });
  });

  it('canary declares the traffic shares it sets, so a router that only switches can refuse them', () => {
    const listed = canary.create().declares(canary.configSchema.parse({ type: 'canary', steps: [{ setWeight: 10 }, { pause: { duration: '1m' } }, { setWeight: 100 }] }));
    expect(listed.weights).toEqual([
      { path: ['steps', 0, 'setWeight'], weight: 10 },
      { path: ['steps', 2, 'setWeight'], weight: 100 },
    ]);
    // The shorthand's shares, its pauses and analyses left out, all at stepWeight.
    const shorthand = canary.create().declares(canary.configSchema.parse({ type: 'canary', stepWeight: 40, stepInterval: '1m' }));
    expect(shorthand.weights).toEqual([40, 80, 100].map((weight) => ({ path: ['stepWeight'], weight })));
  });

  it('blue-green: candidates and a router, its delay, analyses and smoke probes', () => {
    const d = blueGreen.create().declares(
      blueGreen.configSchema.parse({ type: 'blue-green', smoke: ['ping'], prePromotionAnalysis: { templates: ['pre'] }, postPromotionAnalysis: { templates: ['post'] } }),
    );
    expect(d).toMatchObject({ needs: ['candidates'], waits: [{ path: ['scaleDownDelay'], ms: 30_000 }], probes: [{ path: ['smoke', 0], name: 'ping' }] });
    expect(d.router).toMatch(/^blue-green switches traffic with a router/);
    expect(d.analyses.map((a) => a.path)).toEqual([['prePromotionAnalysis'], ['postPromotionAnalysis']]);
    expect(blueGreen.create().declares(blueGreen.configSchema.parse({ type: 'blue-green' })).analyses).toEqual([]);
  });

  it('progressive: a fleet and its bake', () => {
    expect(progressive.create().declares(progressive.configSchema.parse({ type: 'progressive', bake: '1m' }))).toMatchObject({ needs: ['fleet'], waits: [{ path: ['bake'], ms: 60_000 }] });
  });

  it('auto: its conditions and every strategy it may choose', () => {
    const config = auto.configSchema.parse({ type: 'auto', rules: [{ when: 'probes.a.ok', use: { type: 'blue-green' } }], otherwise: { type: 'direct' } });
    const d = auto.create().declares(config);
    expect(d.conditions).toEqual([{ path: ['rules', 0, 'when'], text: 'probes.a.ok' }]);
    expect(d.choices.map((c) => [c.path, c.config.type])).toEqual([
      [['rules', 0, 'use'], 'blue-green'],
      [['otherwise'], 'direct'],
    ]);
    expect(auto.probesOf(config)).toEqual(['a']);
  });
});

describe('the first-deploy shortcut', () => {
  it('deploys directly when nothing runs, does nothing when the version runs, and follows the config otherwise', () => {
    const shortcut = canary.create().shortcut;
    expect(shortcut?.({ running: null }, 'v2')).toEqual({
      decision: 'first-deploy',
      reason: 'nothing runs yet, so there is no traffic to shift: deploying v2 directly and verifying it',
      steps: [
        { id: 'deploy', action: 'deploy' },
        { id: 'verify', action: 'verify' },
      ],
    });
    expect(blueGreen.create().shortcut?.({ running: 'v2' }, 'v2')).toEqual({ decision: 're-deploy', reason: 'v2 already runs and no candidate is running: nothing to roll out', steps: [] });
    expect(shortcut?.({ running: 'v1' }, 'v2')).toBeUndefined();
    expect(direct.create().shortcut).toBeUndefined();
  });
});

describe('auto.choose', () => {
  const config = auto.configSchema.parse({
    type: 'auto',
    rules: [
      { when: 'probes.capacity.value >= 5.0', use: { type: 'blue-green' } },
      { when: 'inputs.fast == "yes"', use: { type: 'direct' } },
    ],
    otherwise: { type: 'canary', steps: [{ setWeight: 20 }] },
  });

  it('picks the first rule that holds, else the fallback, and says why', () => {
    expect(auto.choose(config, { probes: { capacity: { value: 8 } }, inputs: { fast: 'yes' } })).toMatchObject({ chosen: { type: 'blue-green' }, condition: 'probes.capacity.value >= 5.0', reason: 'probes.capacity.value >= 5.0 holds' });
    expect(auto.choose(config, { probes: { capacity: { value: 2 } }, inputs: { fast: 'yes' } }).chosen.type).toBe('direct');
    expect(auto.choose(config, { probes: { capacity: { value: 2 } }, inputs: { fast: 'no' } })).toMatchObject({
      chosen: { type: 'canary' },
      condition: 'probes.capacity.value >= 5.0 || inputs.fast == "yes"',
      reason: 'no rule holds (probes.capacity.value >= 5.0; inputs.fast == "yes"), so the fallback',
    });
  });
});
