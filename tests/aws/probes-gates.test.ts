import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVirtualClock, type VirtualClock } from '../../core/src/clocks/virtual.js';
import { loadWorkflowFile } from '../../core/src/definition/load.js';
import { runWorkflow } from '../../core/src/engine/executor.js';
import { FileRunStore } from '../../core/src/engine/file-run-store.js';
import type { RunEvent } from '../../core/src/model/events.js';
import { type CloudWatchModel, cloudWatchDouble } from '../../core/src/testing/aws/cloudwatch.js';
import { elbv2Double, type Elbv2Model } from '../../core/src/testing/aws/elbv2.js';
import { rdsDouble, type RdsModel } from '../../core/src/testing/aws/rds.js';
import { AwsServer } from '../../core/src/testing/aws/server.js';
import { serviceQuotasDouble, type ServiceQuotasModel } from '../../core/src/testing/aws/service-quotas.js';

/*
 * The AWS state probes and the cloudwatch metric provider as a workflow uses them, through the
 * engine on a virtual clock, with the real SDK clients against the AWS double: a stage skipped
 * while its database is being modified, one that waits for the database, one refused when the
 * Fargate quota has no room, a canary whose analysis reads CloudWatch (and rolls back when the
 * canary's 5xx share is high), and a guard on the target group's health. The rollout itself is
 * the simulation's (the ECS target has its own end-to-end tests).
 */

const USAGE = { namespace: 'AWS/Usage', metric: 'ResourceCount', dimensions: { Service: 'Fargate', Type: 'Resource', Resource: 'OnDemand', Class: 'Standard/OnDemand' } };
const ELB = { LoadBalancer: 'app/web/50dc6c495c0c9188', TargetGroup: 'targetgroup/web-green/943f017f100becff' };

let server: AwsServer;
let clock: VirtualClock;
let rds: RdsModel;
let quotas: ServiceQuotasModel;
let cloudwatch: CloudWatchModel;
let elb: Elbv2Model;
let green: string;
let dir: string;
beforeEach(async () => {
  server = await new AwsServer().start();
  clock = createVirtualClock();
  rds = rdsDouble(server, () => clock.now());
  rds.instance({ id: 'shop-db' });
  quotas = serviceQuotasDouble(server);
  quotas.quota({ serviceCode: 'fargate', quotaCode: 'L-3032A538', name: 'Fargate On-Demand vCPU resource count', value: 16, usage: { ...USAGE, stat: 'Maximum' } });
  cloudwatch = cloudWatchDouble(server);
  cloudwatch.define(USAGE, 8);
  cloudwatch.define({ namespace: 'AWS/ApplicationELB', metric: 'RequestCount', dimensions: ELB }, 1200);
  cloudwatch.define({ namespace: 'AWS/ApplicationELB', metric: 'HTTPCode_Target_5XX_Count', dimensions: ELB }, 2);
  elb = elbv2Double(server);
  green = elb.targetGroup('web-green');
  elb.listener([{ Type: 'forward', TargetGroupArn: green }]);
  elb.registerTargets(green, [1, 2, 3].map((n) => ({ id: `10.0.1.${n}`, port: 8080, health: 'healthy' as const })));
  dir = mkdtempSync(join(tmpdir(), 'rollgate-aws-probes-'));
});
afterEach(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const ERROR_PERCENT = `expression: 100 * errors / requests
metrics:
  errors: { namespace: AWS/ApplicationELB, metric: HTTPCode_Target_5XX_Count, dimensions: ${JSON.stringify(ELB)}, stat: Sum }
  requests: { namespace: AWS/ApplicationELB, metric: RequestCount, dimensions: ${JSON.stringify(ELB)}, stat: Sum }`;

async function run(stage: Record<string, unknown>) {
  const file = join(dir, 'rollgate.yml');
  writeFileSync(
    file,
    stringify({
      version: 1,
      name: 'shop',
      inputs: { version: { default: 'v2' } },
      aws: { region: 'us-east-1', endpoint: server.url },
      environments: { production: {} },
      sim: { services: { web: { version: 'v1' } } },
      probes: {
        db: { type: 'aws-rds', instance: 'shop-db' },
        fargate: { type: 'aws-quota', serviceCode: 'fargate', quotaCode: 'L-3032A538', usage: 'metric', minHeadroom: 4 },
        green: { type: 'aws-target-group', targetGroupArn: green, minHealthy: 2 },
      },
      metricProviders: { cloudwatch: { type: 'cloudwatch', lookback: '5m' } },
      analyses: {
        errors: { metrics: [{ name: 'canary-5xx-percent', provider: 'cloudwatch', query: ERROR_PERCENT, successCondition: 'result < 1.0', interval: '1m', count: 2, unit: 'percent' }] },
      },
      stages: [{ name: 'web', environment: 'production', target: { type: 'sim', service: 'web' }, ...stage }],
    }),
  );
  const events: RunEvent[] = [];
  const loaded = await loadWorkflowFile(file);
  const outcome = await runWorkflow({
    loaded,
    store: new FileRunStore(join(dir, 'run.json')),
    context: { actor: 'alice', ci: 'local' },
    clock,
    env: { PATH: process.env.PATH ?? '', ...server.env() },
    subscribers: [(e) => events.push(e)],
  });
  return { outcome, events };
}

const of = <K extends RunEvent['kind']>(events: RunEvent[], kind: K) => events.filter((e): e is Extract<RunEvent, { kind: K }> => e.kind === kind);
const canary = { type: 'canary', steps: [{ setWeight: 20 }, { analysis: { templates: ['errors'] } }, { setWeight: 50 }] };

describe('AWS probes and CloudWatch analysis in a workflow', () => {
  it('a healthy database, room in the quota and a clean canary: the stage runs, its gates recorded as evidence', async () => {
    const { outcome, events } = await run({
      when: 'probes.db.value != "modifying"',
      preflight: [{ check: 'probes.fargate.ok', message: 'room for 4 more Fargate vCPUs' }],
      guards: [{ check: 'probes.green.ok', message: 'the green target group keeps 2 healthy targets' }],
      router: { type: 'sim', service: 'web' },
      strategy: canary,
    });
    expect(outcome.exitCode, JSON.stringify(of(events, 'step.failed'))).toBe(0);
    const measured = of(events, 'probes.measured').flatMap((e) => Object.entries(e.snapshot));
    expect(measured.find(([name]) => name === 'db')?.[1]).toMatchObject({ ok: true, value: 'available' });
    expect(measured.find(([name]) => name === 'fargate')?.[1]).toMatchObject({ ok: true, value: 8, details: { quota: 16, usage: 8, headroom: 8 } });
    const analysis = of(events, 'analysis.measured');
    expect(analysis.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(analysis[0])).toContain('0.16666');
  });

  it('skips the stage while RDS modifies the database (when)', async () => {
    rds.progress('instance', 'shop-db', [{ status: 'modifying', forMs: 30 * 60_000 }]);
    const { outcome, events } = await run({ when: 'probes.db.value != "modifying"' });
    expect(outcome.exitCode).toBe(0);
    expect(of(events, 'stage.skipped')).toEqual([expect.objectContaining({ stage: 'web' })]);
    expect(of(events, 'infra.changed')).toEqual([]);
  });

  it('waits for the database to be available again (waitFor), then deploys', async () => {
    rds.progress('instance', 'shop-db', [{ status: 'modifying', forMs: 10 * 60_000 }]);
    const start = clock.now();
    const { outcome } = await run({ waitFor: { check: 'probes.db.ok', message: 'shop-db available', timeout: '20m', interval: '1m' } });
    expect(outcome.exitCode).toBe(0);
    expect(clock.now() - start).toBeGreaterThanOrEqual(10 * 60_000);
  });

  it('refuses the stage with nothing changed when the Fargate quota has no room (preflight)', async () => {
    cloudwatch.define(USAGE, 14);
    const { outcome, events } = await run({ preflight: [{ check: 'probes.fargate.ok', message: 'room for 4 more Fargate vCPUs' }] });
    expect(outcome.exitCode).toBe(1);
    expect(of(events, 'infra.changed')).toEqual([]);
    expect(JSON.stringify(of(events, 'stage.finished'))).toContain('room for 4 more Fargate vCPUs');
  });

  it('rolls the canary back when CloudWatch shows its 5xx share too high', async () => {
    cloudwatch.define({ namespace: 'AWS/ApplicationELB', metric: 'HTTPCode_Target_5XX_Count', dimensions: ELB }, 60);
    const { outcome, events } = await run({ router: { type: 'sim', service: 'web' }, strategy: canary });
    expect(outcome.exitCode).toBe(1);
    expect(of(events, 'rollback.started')).toHaveLength(1);
    expect(of(events, 'analysis.measured').map((e) => JSON.stringify(e))[0]).toContain('"value":5');
  });

  it('no AWS credential appears in any event', async () => {
    server.throttle(0.3);
    const { events } = await run({
      when: 'probes.db.ok',
      preflight: [{ check: 'probes.fargate.ok' }],
      router: { type: 'sim', service: 'web' },
      strategy: canary,
    });
    const text = JSON.stringify(events);
    expect(text).not.toContain(server.env().AWS_SECRET_ACCESS_KEY);
    expect(text).not.toContain(server.env().AWS_ACCESS_KEY_ID);
  });
});
