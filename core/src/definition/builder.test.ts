import { describe, expect, expectTypeOf, it } from 'vitest';
import { WorkflowConfigError } from '../errors.js';
import { workflow } from './builder.js';
import { parseWorkflow } from './load.js';
import type { Workflow } from './schema.js';

const base = workflow('web').input('version', { default: 'v1' }).environment('staging').environment('prod', { variables: { REGION: 'eu' } });

describe('workflow builder', () => {
  it('builds the same model as the equivalent file', () => {
    const built = base
      .description('Web app')
      .secret('SLACK_BOT_TOKEN')
      .probe('db', { type: 'tcp', host: 'db', port: 5432 })
      .stage({ name: 'deploy-staging', environment: 'staging', target: { type: 'sim' } })
      .stage({ name: 'deploy-prod', environment: 'prod', needs: ['deploy-staging'], when: 'probes.db.ok', target: { type: 'sim' } })
      .notify({ type: 'console' })
      .settings('sim', { nodes: 3 })
      .audit({ sinks: [{ type: 'file', dir: 'audit' }] })
      .defaults({ maxParallelStages: 2 })
      .build();
    const fromFile = parseWorkflow(JSON.stringify(base
      .description('Web app')
      .secret('SLACK_BOT_TOKEN')
      .probe('db', { type: 'tcp', host: 'db', port: 5432 })
      .stage({ name: 'deploy-staging', environment: 'staging', target: { type: 'sim' } })
      .stage({ name: 'deploy-prod', environment: 'prod', needs: ['deploy-staging'], when: 'probes.db.ok', target: { type: 'sim' } })
      .notify({ type: 'console' })
      .settings('sim', { nodes: 3 })
      .audit({ sinks: [{ type: 'file', dir: 'audit' }] })
      .defaults({ maxParallelStages: 2 })
      .toJSON()), 'rollgate.json');
    expect(fromFile.ok && fromFile.workflow).toEqual(built);
    expectTypeOf(built).toEqualTypeOf<Workflow>();
    expect(built).toMatchObject({ name: 'web', description: 'Web app', secrets: ['SLACK_BOT_TOKEN'], sim: { nodes: 3 } });
    expect(built.stages.map((s) => s.name)).toEqual(['deploy-staging', 'deploy-prod']);
    expect(built.defaults.maxParallelStages).toBe(2);
  });

  it('returns a new builder from every call, so a base can be shared', () => {
    const one = base.stage({ name: 'a', environment: 'staging', target: { type: 'sim' } });
    const two = base.stage({ name: 'b', environment: 'prod', target: { type: 'sim' } });
    expect(one.toJSON().stages.map((s) => s.name)).toEqual(['a']);
    expect(two.toJSON().stages.map((s) => s.name)).toEqual(['b']);
    expect(base.toJSON().stages).toEqual([]);
  });

  it('only accepts environments and needs that were declared', () => {
    base.stage({
      name: 'a',
      // @ts-expect-error: 'qa' is not a declared environment
      environment: 'qa',
      target: { type: 'sim' },
    });
    base.stage({
      name: 'a',
      environment: 'staging',
      // @ts-expect-error: no stage 'z' has been declared
      needs: ['z'],
      target: { type: 'sim' },
    });
  });

  it('runs the same checks as a file and throws every problem, without positions', () => {
    const broken = base
      .probe('web', { type: 'http', url: 'https://{{ vars.HOST }}/' })
      .stage({ name: 'a', environment: 'staging', when: 'probes.nope.ok', target: { type: 'command', deploy: ['./deploy.sh'] } });
    const result = broken.validate();
    expect(result).toEqual({
      ok: false,
      errors: [
        { file: '<builder>', path: 'stages[a].when', message: "condition uses probes.nope, but no probe 'nope' is declared; probes: web" },
        { file: '<builder>', path: 'probes.web.url', message: "'{{ vars.HOST }}': no environment sets variable 'HOST'" },
      ],
      warnings: [
        {
          file: '<builder>',
          path: 'stages[a].target',
          message: 'failures in stage a cannot be rolled back automatically: the command target has no revert command (it would get $ROLLGATE_PREVIOUS_VERSION)',
        },
      ],
    });
    expect(() => broken.build()).toThrow(WorkflowConfigError);
    expect(() => broken.build()).toThrow(/^invalid workflow web \(built in code\):\n {2}- <builder>: stages\[a\]\.when: /);
  });

  it('keeps warnings on a valid workflow', () => {
    const result = base.stage({ name: 'a', environment: 'staging', target: { type: 'command', deploy: ['x'] } }).validate();
    expect(result.ok).toBe(true);
    expect(result.warnings.map((w) => w.path)).toEqual(['stages[a].target']);
  });

  it('rejects a workflow without stages', () => {
    expect(() => workflow('web').build()).toThrow(/stages: must list at least 1 item/);
  });
});
