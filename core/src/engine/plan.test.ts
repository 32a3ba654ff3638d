import { describe, expect, it } from 'vitest';
import { workflowSchema, type WorkflowInput } from '../definition/schema.js';
import { UsageError } from '../errors.js';
import { resolveInputs } from './inputs.js';
import { planRun } from './plan.js';

const wf = (extra: Partial<WorkflowInput> = {}) =>
  workflowSchema.parse({
    version: 1,
    name: 'web',
    inputs: { version: { default: 'v2' }, tier: { allowed: ['a', 'b'] }, ticket: { required: true } },
    environments: { staging: { variables: { region: 'eu' } }, production: {} },
    stages: [
      { name: 'build-check', environment: 'staging', target: { type: 'sim' } },
      { name: 'staging', environment: 'staging', needs: ['build-check'], version: '{{ inputs.version }}-{{ vars.region }}', target: { type: 'sim' } },
      { name: 'canary-eu', environment: 'production', needs: ['staging'], target: { type: 'sim' } },
      { name: 'canary-us', environment: 'production', needs: ['staging'], approval: { type: 'manual' }, target: { type: 'sim' }, strategy: { type: 'direct', bake: '5m' } },
    ],
    ...extra,
  });

describe('planRun', () => {
  it('orders stages by level and renders versions with inputs and environment variables', () => {
    const plan = planRun(wf(), { version: 'v7' });
    expect(plan.stages.map((s) => [s.name, s.level])).toEqual([
      ['build-check', 0],
      ['staging', 1],
      ['canary-eu', 2],
      ['canary-us', 2],
    ]);
    expect(plan.stages[1]?.version).toBe('v7-eu');
    expect(plan.stages[3]?.approval).toBe('manual');
    expect(plan.stages[3]?.steps.map((s) => s.id)).toEqual(['deploy', 'verify', 'bake', 'verify-after-bake']);
    expect(plan.stages[0]?.steps).toEqual([
      { id: 'deploy', action: 'deploy' },
      { id: 'verify', action: 'verify' },
    ]);
  });

  it("fills the placeholders of an analysis's queries for each stage, so the plan shows the query as it is sent", () => {
    const plan = planRun(
      wf({
        analyses: { errors: { metrics: [{ name: 'errors', query: 'rate(e{v="{{ inputs.version }}",r="{{ vars.region }}",s="{{ stage }}",e="{{ environment }}"}[1m])', successCondition: 'result < 0.05' }] } },
        stages: [{ name: 'web', environment: 'staging', target: { type: 'sim' }, router: { type: 'sim' }, strategy: { type: 'canary', steps: [{ setWeight: 10 }, { analysis: { templates: ['errors'] } }] } }],
      }),
      { version: 'v7' },
    );
    const text = JSON.stringify(plan.stages[0]?.steps);
    expect(text).toContain('rate(e{v=\\"v7\\",r=\\"eu\\",s=\\"web\\",e=\\"staging\\"}[1m])');
    expect(text).not.toContain('{{');
  });

  it('says which metric and placeholder has no value when a run leaves an optional input out', () => {
    const workflow = wf({
      stages: [
        {
          name: 'web',
          environment: 'staging',
          target: { type: 'sim' },
          router: { type: 'sim' },
          strategy: { type: 'canary', steps: [{ setWeight: 10 }, { analysis: { metrics: [{ name: 'errors', query: 'e{tier="{{ inputs.tier }}"}', successCondition: 'result < 1' }] } }] },
        },
      ],
    });
    expect(() => planRun(workflow, { version: 'v7' })).toThrow(UsageError);
    expect(() => planRun(workflow, { version: 'v7' })).toThrow("metric 'errors': query: '{{ inputs.tier }}' has no value: the run gave no input 'tier' and it has no default");
  });

  it('selects stages by name; needs outside the selection count as met', () => {
    const plan = planRun(wf(), { version: 'v7' }, { stages: ['canary-eu'] });
    expect(plan.stages).toHaveLength(1);
    expect(plan.stages[0]).toMatchObject({ name: 'canary-eu', level: 0, needs: [] });
  });

  it('selects stages by environment', () => {
    expect(planRun(wf(), { version: 'v7' }, { environment: 'production' }).stages.map((s) => s.name)).toEqual(['canary-eu', 'canary-us']);
  });

  it('names the known stages and environments when a selection is wrong', () => {
    expect(() => planRun(wf(), {}, { stages: ['nope'] })).toThrow("unknown stage 'nope'; stages: build-check, staging, canary-eu, canary-us");
    expect(() => planRun(wf(), {}, { environment: 'qa' })).toThrow("unknown environment 'qa'; environments: staging, production");
    expect(() => planRun(wf(), {}, { stages: ['staging'], environment: 'production' })).toThrow(/no stage matches --stage staging --env production/);
  });

  it('says which placeholder has no value', () => {
    expect(() => planRun(wf(), {})).toThrow(/stage build-check: version: '\{\{ inputs.version \}\}' has no value/);
  });

  it('refuses a rendered version with a control character, naming the stage and the field, escaped', () => {
    const plan = () => planRun(wf(), { version: 'v2\n::error::x' });
    expect(plan).toThrow(UsageError);
    expect(plan).toThrow(
      "stage build-check: version: 'v2\\n::error::x' contains a control character (newline) (from '{{ inputs.version }}'; check the inputs and variables it uses); a version may hold letters, digits and ._-+/:@=,~, at most 256 characters, not starting with -",
    );
  });

  it('refuses a rendered version that no target could take: spaces from a variable, empty, a leading dash', () => {
    const spaced = wf({ environments: { staging: { variables: { region: 'eu west' } }, production: {} } });
    expect(() => planRun(spaced, { version: 'v7' })).toThrow(/^stage staging: version: 'v7-eu west' contains a space \(from '\{\{ inputs.version \}\}-\{\{ vars.region \}\}'/);
    expect(() => planRun(wf(), { version: '' })).toThrow(/^stage build-check: version: '' is empty \(from/);
    const literal = wf({ stages: [{ name: 'a', environment: 'staging', version: '-rf', target: { type: 'sim' } }] });
    expect(() => planRun(literal, {})).toThrow("stage a: version: '-rf' starts with -, which a command would read as an option; a version may hold");
  });

  it('levels a chain of 20,000 stages without recursing through it', () => {
    const count = 20_000;
    const stages = Array.from({ length: count }, (_, i) => ({
      name: `s${i}`,
      environment: 'staging',
      needs: i < count - 1 ? [`s${i + 1}`] : [],
      version: 'v1',
      target: { type: 'sim' as const },
    }));
    const plan = planRun(wf({ stages }), {});
    expect(plan.stages[0]).toMatchObject({ name: `s${count - 1}`, level: 0 });
    expect(plan.stages[count - 1]).toMatchObject({ name: 's0', level: count - 1 });
  });
});

describe('resolveInputs', () => {
  it('fills defaults and keeps given values', () => {
    expect(resolveInputs(wf(), { ticket: 'CHG-1', tier: 'a' })).toEqual({ version: 'v2', tier: 'a', ticket: 'CHG-1' });
  });

  it('reports unknown, missing and disallowed inputs at once', () => {
    expect(() => resolveInputs(wf(), { colour: 'red', tier: 'z' })).toThrow(
      /inputs.colour: unknown input 'colour'; declared inputs: version, tier, ticket[\s\S]*input 'tier' is 'z'; allowed: a, b[\s\S]*input 'ticket' is required: pass --input ticket=VALUE/,
    );
  });
});
