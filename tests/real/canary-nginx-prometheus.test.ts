import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppFleet, ctlCommand, runE2E, startAppFleet } from './e2e/app-fleet.js';
import { startLoad } from './router-load.js';
import { startNginx, type NginxServer } from './servers/nginx.js';
import { errorRateQuery, startPrometheus, type PrometheusServer } from './servers/prometheus.js';

/*
 * A canary on a fleet of 4 real host processes behind a real nginx, with the analysis in a real
 * Prometheus, through the public API on the real clock. nginx balances the hosts through the
 * upstream file the nginx router owns; Prometheus scrapes every host's /metrics each second; a load
 * generator sends requests through nginx the whole time, so the canary's answers (and errors) are
 * what Prometheus sees. The analysis reads the canary's error rate by the `version` label.
 * web-01 is the canary host (the fleet's candidates are the first hosts in rollout order).
 */

let dir: string;
let fleet: AppFleet;
let proxy: NginxServer;
let prometheus: PrometheusServer;
let original: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-canary-e2e-'));
  fleet = await startAppFleet(dir, 4, 'v1');
  original = `upstream app {\n${fleet.addresses.map((a) => `    server ${a};\n`).join('')}}\n`;
  proxy = await startNginx({ upstream: 'app', upstreamText: original });
  prometheus = await startPrometheus({ targets: fleet.addresses });
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([proxy?.stop(), prometheus?.stop(), fleet?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

function workflow(version: string) {
  return {
    version: 1,
    name: 'web-canary',
    inputs: { version: { default: version } },
    environments: { production: {} },
    audit: { sinks: [{ type: 'file', dir: join(dir, 'audit') }] },
    metricProviders: { prom: { type: 'prometheus', url: prometheus.url, timeout: '3s' } },
    stages: [
      {
        name: 'web',
        environment: 'production',
        target: { type: 'fleet', hosts: fleet.hosts, current: ctlCommand('current'), deploy: ctlCommand('deploy'), health: ctlCommand('health'), revert: ctlCommand('revert'), timeout: '20s', checkTimeout: '5s' },
        router: {
          type: 'nginx',
          upstreamFile: proxy.upstreamFile,
          upstream: 'app',
          canary: fleet.addresses[0],
          stable: fleet.addresses.slice(1),
          nginx: proxy.binary,
          args: proxy.args,
          pidFile: proxy.pidFile,
        },
        verify: { timeout: '20s', interval: '500ms' },
        monitor: { interval: '1s' },
        strategy: {
          type: 'canary',
          // The stable hosts take all traffic back at once; the canary host reverts a second later.
          abortScaleDownDelay: '1s',
          steps: [
            { setWeight: 50 },
            {
              analysis: {
                metrics: [
                  {
                    name: 'canary-error-rate',
                    provider: 'prom',
                    query: errorRateQuery(version),
                    successCondition: 'result < 0.05',
                    unit: 'ratio',
                    // Two scrapes of the canary under traffic before the first look at its rate.
                    initialDelay: '4s',
                    interval: '2s',
                    count: 3,
                    inconclusiveLimit: 1,
                  },
                ],
              },
            },
          ],
        },
      },
    ],
  };
}

/** Runs the canary of `version` while about 100 requests a second go through nginx. */
async function canary(version: string) {
  const load = startLoad(proxy.url, { rate: 100, concurrency: 4 });
  try {
    await load.completed(20);
    load.phase('rollout');
    const run = await runE2E(dir, `canary-${version}.yml`, workflow(version), {});
    load.phase('after');
    await load.completed(20);
    return { ...run, counts: load.counts() };
  } finally {
    await load.stop();
  }
}

describe('a canary on a host fleet through nginx, analysed by Prometheus', () => {
  it('promotes a good version: every host on v2, the upstream file as it was, the run succeeded', { timeout: 60_000 }, async () => {
    const { outcome, of, counts } = await canary('v2');
    console.log(`canary v2 through nginx: ${JSON.stringify(counts)}`);
    expect(outcome.status, JSON.stringify(of('step.failed'))).toBe('succeeded');
    expect(outcome.exitCode).toBe(0);
    const measured = of('analysis.measured');
    expect(measured.length).toBeGreaterThanOrEqual(2);
    expect(measured.filter((m) => m.verdict === 'succeeded').every((m) => m.metric === 'canary-error-rate' && m.value === 0)).toBe(true);
    // The canary really took traffic through nginx while it was measured.
    expect(counts['rollout']?.versions['v2'] ?? 0).toBeGreaterThan(50);
    expect(await fleet.versions()).toEqual(Object.fromEntries(fleet.hosts.map((h) => [h, 'v2'])));
    expect(await readFile(proxy.upstreamFile, 'utf8')).toBe(original);
    expect(counts['after']?.versions).toEqual({ v2: counts['after']?.requests });
    const weights = of('weight.changed').map((e) => e.to);
    expect(weights).toEqual([50]);
  });

  it('rolls back a version that fails 30% of its requests: every host on v1, traffic back to stable, the decision names metric, value and condition', { timeout: 60_000 }, async () => {
    await fleet.failRate('v3', 0.3);
    // The previous case left v2 everywhere: v1 is the stable version again.
    await Promise.all(fleet.hosts.map((h) => fleet.ctl('deploy', h, { ROLLGATE_VERSION: 'v1' })));
    const { outcome, of, counts } = await canary('v3');
    console.log(`canary v3 through nginx: ${JSON.stringify(counts)}`);
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.exitCode).toBe(1);
    const failed = of('analysis.measured').filter((m) => m.verdict === 'failed');
    expect(failed.length).toBe(1);
    const [decision] = failed;
    expect(decision).toMatchObject({ metric: 'canary-error-rate', condition: 'success: result < 0.05' });
    expect(decision?.value).toBeGreaterThan(0.2);
    expect(decision?.value).toBeLessThan(0.4);
    const stepFailed = of('step.failed');
    expect(stepFailed.map((e) => e.errorKind)).toContain('AnalysisFailedError');
    console.log(`rollback decision: ${JSON.stringify(decision)}\n  step failed: ${stepFailed.map((e) => e.error).join(' | ')}`);
    expect(stepFailed.map((e) => e.error).join('\n')).toContain('canary-error-rate');
    // The canary's errors went through nginx to the client, and Prometheus saw them.
    expect(counts['rollout']?.failed ?? 0).toBeGreaterThan(0);
    expect(of('rollback.finished')).toEqual([expect.objectContaining({ complete: true, remaining: [] })]);
    expect(await fleet.versions()).toEqual(Object.fromEntries(fleet.hosts.map((h) => [h, 'v1'])));
    expect(await readFile(proxy.upstreamFile, 'utf8')).toBe(original);
    expect(counts['after']).toEqual({ requests: counts['after']?.requests, failed: 0, versions: { v1: counts['after']?.requests } });
  });
});
