// Kubernetes probes and runs against the local API server double (core/src/testing/kubernetes-server.ts,
// the real @kubernetes/client-node talking HTTP to it). Run: node bench/kubernetes.mjs (after npm run build).
//
// (1) Probe snapshot latency: a stage's state check of 8 kubernetes probes (2 of each check:
//     capacity, deployment, nodes, pending-pods) on a cluster of 20 nodes and 60 Deployments
//     (~200 pods), run by the engine's snapshot as `when`, guards and `auto` do, many times;
//     baseline, alternating: the same 8 API reads made directly with the library (no rollgate).
//     p50/p99 and snapshot/direct ratios. Target: p99 < 250 ms (the figure for probes).
// (2) What a Kubernetes run costs a process: `rollgate run` (the bundled CLI) of a direct deploy
//     to the double, spawn to exit, and its peak RSS (kernel maxRSS), against `rollgate run` of
//     the same stage on the simulation (virtual clock): the Kubernetes client is 2.5 MB
//     of generated code, loaded only by runs that use it. Requirement: baseline memory < 100 MB.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, DIST, header, median, mib, ms, percentile, ratio, requireBuild, table, tempDir, verdict } from './lib.mjs';

requireBuild();
const imp = (p) => import(pathToFileURL(join(DIST, p)).href);
const { takeSnapshot } = await imp('engine/snapshot.js');
const { probes } = await imp('probes/index.js');
const { fakeDeps, fakeStepContext } = await imp('testing/fakes.js');
const { KubernetesServer } = await imp('testing/kubernetes-server.js');
const { webDeployment } = await imp('testing/kubernetes/fixture.js');
const k8s = await import('@kubernetes/client-node');

const SNAPSHOTS = Math.max(30, Math.min(5000, Number(process.env.BENCH_SNAPSHOTS ?? 200)));
const RUNS = Math.max(3, Math.min(50, Number(process.env.BENCH_RUNS ?? 7)));
const TARGET_P99_MS = 250;
const LIMIT_BYTES = 100 * 1000 * 1000;

header(`kubernetes: ${SNAPSHOTS} snapshots of 8 kubernetes probes vs the same reads made directly; ${RUNS} CLI runs vs the simulation`);
const tmp = tempDir('kubernetes');
const server = await new KubernetesServer({ token: 'bench', nodes: Array.from({ length: 20 }, (_, i) => ({ name: `node-${i + 1}` })) }).start();
for (let i = 0; i < 60; i++) server.seed(webDeployment(`registry.local/app-${i}:1.0.0`, 3 + (i % 3), i === 0 ? 'web' : `app-${i}`));
const kubeconfig = join(tmp.dir, 'kubeconfig');
writeFileSync(kubeconfig, server.kubeconfig());

try {
  // (1) The snapshot.
  const settings = { kubernetes: { kubeconfig, inCluster: false } };
  const probe = (name, fields) => {
    const config = probes.kubernetes.configSchema.parse({ type: 'kubernetes', ...fields });
    return { name, probe: probes.kubernetes.create(config, fakeDeps({ workDir: tmp.dir }, { settings })), timeoutMs: config.timeout };
  };
  const set = [
    probe('room', { check: 'capacity', deployment: 'web' }),
    probe('free', { check: 'capacity' }),
    probe('web', { check: 'deployment', deployment: 'web' }),
    probe('app', { check: 'deployment', deployment: 'app-7' }),
    probe('nodes', { check: 'nodes' }),
    probe('nodes2', { check: 'nodes' }),
    probe('pending', { check: 'pending-pods' }),
    probe('pendingHere', { check: 'pending-pods', namespace: 'default' }),
  ];
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const deployment = (name) => custom.getNamespacedCustomObject({ group: 'apps', version: 'v1', namespace: 'default', plural: 'deployments', name });
  const direct = () =>
    Promise.all([
      Promise.all([core.listNode(), core.listPodForAllNamespaces({ fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' }), deployment('web')]),
      Promise.all([core.listNode(), core.listPodForAllNamespaces({ fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' })]),
      deployment('web'),
      deployment('app-7'),
      core.listNode(),
      core.listNode(),
      core.listPodForAllNamespaces({ fieldSelector: 'status.phase=Pending' }),
      core.listNamespacedPod({ namespace: 'default', fieldSelector: 'status.phase=Pending' }),
    ]);
  const snapshot = async () => {
    const result = await takeSnapshot(set, fakeStepContext({ env: { PATH: process.env.PATH ?? '' } }));
    const failed = Object.entries(result).filter(([, r]) => !r.ok && r.error);
    if (failed.length > 0 && !failed.every(([name]) => name.startsWith('pending'))) throw new Error(`bench: a probe failed: ${JSON.stringify(failed)}`);
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
  console.log(`(1) state check of 8 kubernetes probes on 20 nodes, 60 Deployments, ${server.cluster.pods().length} pods; ${SNAPSHOTS} alternating rounds`);
  table([
    ['A snapshot (rollgate)', `p50 ${ms(percentile(a, 50))}  p99 ${ms(percentile(a, 99))}`],
    ['B the same reads, direct', `p50 ${ms(percentile(b, 50))}  p99 ${ms(percentile(b, 99))}`],
    ['A/B', `p50 ${ratio(percentile(a, 50) / percentile(b, 50))}  p99 ${ratio(percentile(a, 99) / percentile(b, 99))}`],
    ['p99 target', verdict(percentile(a, 99) < TARGET_P99_MS, `p99 < ${TARGET_P99_MS} ms`)],
    ['values', `room ${last.room.value} pods of web, free ${last.free.value} millicores, ${last.nodes.value} nodes Ready, ${last.pending.value} pending`],
  ]);

  // (2) A CLI run on the double vs the same workflow on the simulation.
  const workflow = (name, target, extra = '') => {
    writeFileSync(
      join(tmp.dir, name),
      `version: 1\nname: bench\ninputs: { version: { default: '2.0.0' } }\nenvironments: { production: {} }\n${extra}stages:\n  - name: web\n    environment: production\n    target: ${target}\n`,
    );
    return name;
  };
  const kube = workflow('kube.yml', '{ type: kubernetes, deployment: web, interval: 200ms }', `kubernetes: { kubeconfig: ${JSON.stringify(kubeconfig)} }\n`);
  const sim = workflow('sim.yml', '{ type: sim, service: web }', 'sim: { services: { web: { version: "1.0.0" } } }\n');
  const peakAtExit = 'data:text/javascript,process.on("exit",()=>process.stderr.write("\\npeak="+process.resourceUsage().maxRSS*1024))';
  let n = 0;
  const run = (file, version) =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      const child = spawn(process.execPath, ['--import', peakAtExit, CLI, 'run', file, '--input', `version=${version}`, '--state', `run-${++n}.json`], { cwd: tmp.dir, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: tmp.dir } });
      let err = '';
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (code) => {
        if (code !== 0) reject(new Error(`bench: rollgate run ${file} exited ${code}\n${out.slice(-1500)}\n${err.slice(-1500)}`));
        else resolve({ ms: performance.now() - started, peak: Number(/peak=(\d+)/.exec(err)?.[1] ?? NaN) });
      });
    });
  const kubeRuns = [];
  const simRuns = [];
  for (let i = 0; i < RUNS; i++) {
    kubeRuns.push(await run(kube, `2.0.${i}`));
    simRuns.push(await run(sim, `2.0.${i}`));
  }
  const peak = (rs) => Math.max(...rs.map((r) => r.peak));
  console.log(`(2) rollgate run, a direct deploy: on the Kubernetes double (pods start in 2 s) vs on the simulation (virtual clock), ${RUNS} alternating runs`);
  table([
    ['kubernetes run', `median ${ms(median(kubeRuns.map((r) => r.ms)), 0)}  peak RSS max ${mib(peak(kubeRuns))}`],
    ['simulation run', `median ${ms(median(simRuns.map((r) => r.ms)), 0)}  peak RSS max ${mib(peak(simRuns))}`],
    ['peak RSS ratio', ratio(peak(kubeRuns) / peak(simRuns))],
    ['memory', verdict(peak(kubeRuns) < LIMIT_BYTES, `peak RSS of a Kubernetes run < 100 MB (${(peak(kubeRuns) / 1e6).toFixed(1)} MB)`)],
  ]);
} finally {
  await server.stop();
  tmp.cleanup();
}
