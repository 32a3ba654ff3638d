// Cloud probes and a cloud rollout under throttling, against the local API doubles (the real AWS
// SDK v3 clients and rollgate's REST clients talking HTTP to them). Run: node bench/clouds.mjs
// (after npm run build).
//
// (1) Probe snapshot latency: a stage's state check of 10 cloud probes (2 of each: aws-target-group,
//     aws-rds, aws-quota, cloud-sql, azure-database) across the AWS, Google and Azure doubles, run
//     by the engine's snapshot as `when`, guards and `auto` do, many times; baseline, alternating:
//     the same 10 reads made directly (the SDK clients for AWS, one HTTP GET with a token obtained
//     beforehand for Google and Azure; no rollgate). p50/p99 and snapshot/direct ratios.
//     Target: p99 < 250 ms.
// (2) Retries under throttling: an ECS canary through the alb router (25 %, 1 min, 50 %, 1 min,
//     promote) run by the engine on the doubles' virtual clock, with 30 % of AWS calls answered
//     ThrottlingException vs none, alternating. The rollout's duration is read on the virtual
//     clock, which is what it would take against AWS (every backoff wait included), and on the wall
//     clock (rollgate's own work); also the calls made and retries logged.
// (3) What an AWS run costs a process: `rollgate run` (the bundled CLI) of a direct ECS deploy to a
//     double on the wall clock (tasks start in 100 ms), spawn to exit, and its peak RSS (kernel
//     maxRSS), against `rollgate run` of the same stage on the simulation. The AWS SDK loads only
//     in runs that use AWS. Requirement: baseline memory < 100 MB.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { CLI, DIST, header, median, mib, ms, percentile, ratio, requireBuild, table, verdict } from './lib.mjs';

requireBuild();
// As the CLI does: the AWS SDK's notice about Node 22 would be printed in the middle of the figures.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const imp = (p) => import(pathToFileURL(join(DIST, p)).href);
const { takeSnapshot } = await imp('engine/snapshot.js');
const { probes } = await imp('probes/index.js');
const { fakeDeps, fakeStepContext } = await imp('testing/fakes.js');
const { httpFetch } = await imp('util/http-fetch.js');
const { awsFixture, seedWebService, webTaskDefinition } = await imp('testing/aws/fixture.js');
const { AwsServer } = await imp('testing/aws/server.js');
const { ecsDouble } = await imp('testing/aws/ecs.js');
const { rdsDouble } = await imp('testing/aws/rds.js');
const { serviceQuotasDouble } = await imp('testing/aws/service-quotas.js');
const { gcpFixture, PROJECT } = await imp('testing/gcp/fixture.js');
const { armFixture, SUBSCRIPTION, RESOURCE_GROUP } = await imp('testing/azure/base/fixture.js');
const { DatabasesDouble } = await imp('testing/azure/databases.js');
const { loadWorkflowFile } = await imp('definition/load.js');
const { runWorkflow } = await imp('engine/executor.js');
const { MemoryRunStore } = await imp('engine/memory-run-store.js');
const { ElasticLoadBalancingV2Client, DescribeTargetHealthCommand } = await import('@aws-sdk/client-elastic-load-balancing-v2');
const { RDSClient, DescribeDBInstancesCommand, DescribeDBClustersCommand } = await import('@aws-sdk/client-rds');
const { ServiceQuotasClient, GetServiceQuotaCommand } = await import('@aws-sdk/client-service-quotas');

const SNAPSHOTS = Math.max(30, Math.min(5000, Number(process.env.BENCH_SNAPSHOTS ?? 300)));
const RUNS = Math.max(3, Math.min(50, Number(process.env.BENCH_RUNS ?? 8)));
const TARGET_P99_MS = 250;

header(`clouds: ${SNAPSHOTS} snapshots of 10 cloud probes vs the same reads made directly; ${RUNS} ECS canaries with 30% of calls throttled vs none`);
const aws = await awsFixture();
// Google's and Azure's token endpoints check a token's times against their clock: the wall clock here,
// as the probes run on it (the fixtures' virtual clocks are for the tests).
const gcp = await gcpFixture({ now: () => Date.now() });
const azure = await armFixture({ now: () => Date.now() });
try {
  // (1) The snapshot: the doubles hold 2 target groups, an instance and a cluster, 2 quotas, 2 Cloud SQL instances, 2 Azure databases.
  const blue = aws.elbv2.targetGroup('web-blue');
  const green = aws.elbv2.targetGroup('web-green');
  // Both groups in a listener rule (a group no rule forwards to has only `unused` targets, as in ELB).
  const rule = aws.elbv2.rule(aws.elbv2.listener([{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }]), 10, [
    { Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: blue, Weight: 1 }, { TargetGroupArn: green, Weight: 0 }] } },
  ]);
  aws.elbv2.registerTargets(blue, Array.from({ length: 6 }, (_, i) => ({ id: `10.0.0.${i + 1}`, port: 8080, health: 'healthy' })));
  aws.elbv2.registerTargets(green, [{ id: '10.0.1.1', port: 8080, health: 'healthy' }, { id: '10.0.1.2', port: 8080, health: 'initial' }]);
  const rds = rdsDouble(aws.server, () => aws.clock.now(), aws.region);
  rds.instance({ id: 'shop-db', engine: 'postgres' });
  rds.cluster({ id: 'orders', engine: 'aurora-postgresql' });
  const quotas = serviceQuotasDouble(aws.server, aws.region);
  quotas.quota({ serviceCode: 'ecs', quotaCode: 'L-9EF96962', name: 'Tasks per service', value: 5000 });
  quotas.quota({ serviceCode: 'ec2', quotaCode: 'L-1216C47A', name: 'Running On-Demand Standard instances', value: 640 });
  gcp.server.sql.set(PROJECT, 'shop', { state: 'RUNNABLE' });
  gcp.server.sql.set(PROJECT, 'orders', { state: 'RUNNABLE' });
  const databases = new DatabasesDouble(azure.server);
  databases.set('postgres', RESOURCE_GROUP, 'shop-pg', { state: 'Ready' });
  databases.set('sql', RESOURCE_GROUP, 'shop-sql/orders', { status: 'Online' });

  const settings = { aws: { region: aws.region, endpoint: aws.server.url }, gcp: gcp.settings, azure: azure.settings };
  const probe = (name, fields) => {
    const config = probes[fields.type].configSchema.parse(fields);
    return { name, probe: probes[fields.type].create(config, fakeDeps({ workDir: gcp.dir }, { settings })), timeoutMs: config.timeout };
  };
  const set = [
    probe('blue', { type: 'aws-target-group', targetGroupArn: blue }),
    probe('green', { type: 'aws-target-group', targetGroupArn: green }),
    probe('db', { type: 'aws-rds', instance: 'shop-db' }),
    probe('aurora', { type: 'aws-rds', cluster: 'orders' }),
    probe('tasks', { type: 'aws-quota', serviceCode: 'ecs', quotaCode: 'L-9EF96962', usage: 40 }),
    probe('instances', { type: 'aws-quota', serviceCode: 'ec2', quotaCode: 'L-1216C47A' }),
    probe('sql', { type: 'cloud-sql', instance: 'shop' }),
    probe('sql2', { type: 'cloud-sql', instance: 'orders' }),
    probe('pg', { type: 'azure-database', kind: 'postgres-flexible', server: 'shop-pg' }),
    probe('azsql', { type: 'azure-database', kind: 'sql', server: 'shop-sql', database: 'orders' }),
  ];
  const env = { PATH: process.env.PATH ?? '', ...aws.env, ...gcp.env, ...azure.env };
  const ctx = () => fakeStepContext({ env });

  // The direct reads: the SDK clients, and plain GETs with tokens obtained once before timing.
  const sdk = { region: aws.region, endpoint: aws.server.url, credentials: { accessKeyId: aws.env.AWS_ACCESS_KEY_ID, secretAccessKey: aws.env.AWS_SECRET_ACCESS_KEY } };
  const elb = new ElasticLoadBalancingV2Client(sdk);
  const rdsClient = new RDSClient(sdk);
  const sq = new ServiceQuotasClient(sdk);
  const { googleCredentials } = await imp('gcp/credentials.js');
  const googleToken = await googleCredentials('bench').token(ctx());
  const azureToken = await azureTokenOf();
  const get = async (url, token) => {
    const response = await httpFetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`bench: ${url} answered ${response.status}`);
    return JSON.parse(await response.text());
  };
  const sqlUrl = (i) => `${gcp.server.url}/v1/projects/${PROJECT}/instances/${i}`;
  const arm = (path, version) => `${azure.server.url}/subscriptions/${SUBSCRIPTION}/resourceGroups/${RESOURCE_GROUP}/providers/${path}?api-version=${version}`;
  const direct = () =>
    Promise.all([
      elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: blue })),
      elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: green })),
      rdsClient.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'shop-db' })),
      rdsClient.send(new DescribeDBClustersCommand({ DBClusterIdentifier: 'orders' })),
      sq.send(new GetServiceQuotaCommand({ ServiceCode: 'ecs', QuotaCode: 'L-9EF96962' })),
      sq.send(new GetServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: 'L-1216C47A' })),
      get(sqlUrl('shop'), googleToken),
      get(sqlUrl('orders'), googleToken),
      get(arm('Microsoft.DBforPostgreSQL/flexibleServers/shop-pg', '2022-12-01'), azureToken),
      get(arm('Microsoft.Sql/servers/shop-sql/databases/orders', '2021-11-01'), azureToken),
    ]);
  const snapshot = async () => {
    const result = await takeSnapshot(set, ctx());
    const failed = Object.entries(result).filter(([, r]) => !r.ok);
    if (failed.length > 0) throw new Error(`bench: a probe failed: ${JSON.stringify(failed)}`);
    return result;
  };
  for (let i = 0; i < 10; i++) {
    await snapshot();
    await direct();
  }
  const a = [];
  const b = [];
  for (let i = 0; i < SNAPSHOTS; i++) {
    let t = performance.now();
    await snapshot();
    a.push(performance.now() - t);
    t = performance.now();
    await direct();
    b.push(performance.now() - t);
  }
  const last = await snapshot();
  console.log(`(1) state check of 10 cloud probes on three API doubles (AWS, Google, Azure); ${SNAPSHOTS} alternating rounds`);
  table([
    ['A snapshot (rollgate)', `p50 ${ms(percentile(a, 50))}  p99 ${ms(percentile(a, 99))}`],
    ['B the same reads, direct', `p50 ${ms(percentile(b, 50))}  p99 ${ms(percentile(b, 99))}`],
    ['A/B', `p50 ${ratio(percentile(a, 50) / percentile(b, 50))}  p99 ${ratio(percentile(a, 99) / percentile(b, 99))}`],
    ['p99 target', verdict(percentile(a, 99) < TARGET_P99_MS, `p99 < ${TARGET_P99_MS} ms`)],
    ['values', `blue ${last.blue.value} healthy, db ${last.db.value}, tasks headroom ${last.tasks.value}, sql ${last.sql.value}, pg ${last.pg.value}`],
  ]);

  // (2) The ECS canary with and without throttling.
  seedWebService(aws, '123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.0.0', blue);
  const file = join(aws.dir, 'rollgate.yml');
  let n = 0;
  const rollout = async (throttled) => {
    n += 1;
    writeFileSync(
      file,
      stringify({
        version: 1,
        name: 'web',
        inputs: { version: { default: `2.0.${n}` } },
        aws: { region: aws.region, endpoint: aws.server.url },
        environments: { production: {} },
        stages: [
          {
            name: 'web',
            environment: 'production',
            target: { type: 'ecs', cluster: 'prod', service: 'web', interval: '2s', candidateTargetGroupArn: green },
            router: { type: 'alb', ruleArn: rule, stableTargetGroupArn: blue, interval: '2s' },
            verify: { interval: '5s', timeout: '30s' },
            strategy: { type: 'canary', abortScaleDownDelay: '0s', steps: [{ setWeight: 25 }, { pause: { duration: '1m' } }, { setWeight: 50 }, { pause: { duration: '1m' } }] },
          },
        ],
      }),
    );
    aws.server.throttle(throttled ? 0.3 : 0);
    const calls = aws.server.calls.length;
    const lines = [];
    const failures = [];
    const started = { virtual: aws.clock.now(), wall: performance.now() };
    const outcome = await runWorkflow({
      loaded: await loadWorkflowFile(file),
      store: new MemoryRunStore(),
      context: { actor: 'bench', ci: 'local' },
      clock: aws.clock,
      env: { PATH: process.env.PATH ?? '', ...aws.env },
      subscribers: [(e) => void (e.kind === 'step.output' && / throttled/.test(e.line) && lines.push(e.line)), (e) => void (e.kind === 'step.failed' && failures.push(e.error?.message ?? JSON.stringify(e)))],
    });
    if (outcome.exitCode !== 0) throw new Error(`bench: the canary ${throttled ? 'with throttling ' : ''}ended ${outcome.status}: ${failures.join(' | ')}`);
    return { virtual: aws.clock.now() - started.virtual, wall: performance.now() - started.wall, calls: aws.server.calls.length - calls, retries: lines.length };
  };
  await rollout(false);
  const plain = [];
  const throttled = [];
  for (let i = 0; i < RUNS; i++) {
    plain.push(await rollout(false));
    throttled.push(await rollout(true));
  }
  const med = (rs, k) => median(rs.map((r) => r[k]));
  console.log(`(2) ECS canary through alb (25 %, 1 min, 50 %, 1 min, promote) on the doubles; ${RUNS} alternating pairs`);
  table([
    ['A none throttled', `rollout ${(med(plain, 'virtual') / 1000).toFixed(1)} s (virtual)  wall ${ms(med(plain, 'wall'), 0)}  ${med(plain, 'calls')} calls`],
    ['B 30 % throttled', `rollout ${(med(throttled, 'virtual') / 1000).toFixed(1)} s (virtual)  wall ${ms(med(throttled, 'wall'), 0)}  ${med(throttled, 'calls')} calls, ${med(throttled, 'retries')} retries logged`],
    ['B/A', `rollout ${ratio(med(throttled, 'virtual') / med(plain, 'virtual'), 3)}  wall ${ratio(med(throttled, 'wall') / med(plain, 'wall'))}`],
  ]);

  // (3) A CLI run on a wall-clock ECS double vs the same stage on the simulation.
  const live = await new AwsServer().start();
  try {
    const ecs = ecsDouble(live, { now: () => Date.now(), region: 'us-east-1', startMs: 100, staleReads: false });
    ecs.cluster('prod');
    const def = ecs.registerTaskDefinition(webTaskDefinition());
    ecs.createService({ cluster: 'prod', serviceName: 'web', taskDefinition: def.taskDefinition.taskDefinitionArn, desiredCount: 2, launchType: 'FARGATE' });
    ecs.settle();
    const workflow = (name, target, extra = '') => {
      writeFileSync(
        join(aws.dir, name),
        `version: 1\nname: bench\ninputs: { version: { default: '2.0.0' } }\nenvironments: { production: {} }\n${extra}stages:\n  - name: web\n    environment: production\n    target: ${target}\n`,
      );
      return name;
    };
    const ecsFile = workflow('ecs.yml', '{ type: ecs, cluster: prod, service: web, interval: 100ms }', `aws: { region: us-east-1, endpoint: '${live.url}' }\n`);
    const simFile = workflow('sim.yml', '{ type: sim, service: web }', 'sim: { services: { web: { version: "1.0.0" } } }\n');
    const peakAtExit = 'data:text/javascript,process.on("exit",()=>process.stderr.write("\\npeak="+process.resourceUsage().maxRSS*1024))';
    let k = 0;
    const cli = (file, version) =>
      new Promise((resolve, reject) => {
        const started = performance.now();
        const child = spawn(process.execPath, ['--import', peakAtExit, CLI, 'run', file, '--input', `version=${version}`, '--state', `run-${++k}.json`], {
          cwd: aws.dir,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { PATH: process.env.PATH, HOME: aws.dir, ...live.env() },
        });
        let err = '';
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('close', (code) => {
          if (code !== 0) reject(new Error(`bench: rollgate run ${file} exited ${code}\n${out.slice(-1500)}\n${err.slice(-1500)}`));
          else resolve({ ms: performance.now() - started, peak: Number(/peak=(\d+)/.exec(err)?.[1] ?? NaN) });
        });
      });
    const ecsRuns = [];
    const simRuns = [];
    for (let i = 0; i < Math.min(RUNS, 5); i++) {
      ecsRuns.push(await cli(ecsFile, `3.0.${i}`));
      simRuns.push(await cli(simFile, `3.0.${i}`));
    }
    const peak = (rs) => Math.max(...rs.map((r) => r.peak));
    console.log(`(3) rollgate run, a direct ECS deploy on the double (tasks start in 100 ms) vs the same stage on the simulation, ${ecsRuns.length} alternating runs`);
    table([
      ['ECS run', `median ${ms(median(ecsRuns.map((r) => r.ms)), 0)}  peak RSS max ${mib(peak(ecsRuns))}`],
      ['simulation run', `median ${ms(median(simRuns.map((r) => r.ms)), 0)}  peak RSS max ${mib(peak(simRuns))}`],
      ['peak RSS ratio', ratio(peak(ecsRuns) / peak(simRuns))],
      ['memory', verdict(peak(ecsRuns) < 100e6, `peak RSS of an ECS run < 100 MB (${(peak(ecsRuns) / 1e6).toFixed(1)} MB)`)],
    ]);
  } finally {
    await live.stop();
  }
} finally {
  await aws.cleanup();
  await gcp.cleanup();
  await azure.cleanup();
}

async function azureTokenOf() {
  const e = azure.env;
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: e.AZURE_CLIENT_ID, client_secret: e.AZURE_CLIENT_SECRET, scope: 'https://management.azure.com/.default' });
  const response = await httpFetch(`${e.AZURE_AUTHORITY_HOST ?? azure.server.url}/${e.AZURE_TENANT_ID}/oauth2/v2.0/token`, { method: 'POST', body });
  if (!response.ok) throw new Error(`bench: the token endpoint answered ${response.status}: ${await response.text()}`);
  return JSON.parse(await response.text()).access_token;
}
