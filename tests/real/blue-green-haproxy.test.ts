import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../core/src/index.js';
import { type AppFleet, ctlCommand, runE2E, startAppFleet } from './e2e/app-fleet.js';
import { type PhaseCounts, startLoad } from './router-load.js';
import { startHaproxy, type HaproxyServer } from './servers/haproxy.js';

/*
 * A blue-green switch through a real HAProxy (Runtime API over its admin socket) on a fleet of 4
 * real host processes, driven by rollgate through the public API on the real clock, while a load
 * generator sends about 200 requests a second through HAProxy, each on a new connection. The
 * fleet's candidates are the first hosts: green is web-01..03, blue keeps web-04 until the
 * promotion. Every request is filed under the step that ran when it started, so the counts say
 * how many failed while green started, during the switch, and during the rollback.
 */

const WEIGHT = 10;
let dir: string;
let fleet: AppFleet;
let proxy: HaproxyServer;
let found: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-bg-e2e-'));
  fleet = await startAppFleet(dir, 4, 'v1');
  proxy = await startHaproxy({ servers: fleet.hosts.map((h) => ({ name: h, port: fleet.port(h), weight: WEIGHT })) });
  found = await weights();
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([proxy?.stop(), fleet?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

/** `name weight admin-state` of each server of backend app, from `show servers state`. */
async function weights(): Promise<string> {
  const lines = (await proxy.command('show servers state app')).split('\n').filter((l) => /^\d+ app /.test(l));
  // Fields: be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight …
  return lines.map((l) => l.split(' ')).map((f) => `${f[3]} ${f[7]} ${f[6]}`).join('\n');
}

function workflow(version: string) {
  return {
    version: 1,
    name: 'web-blue-green',
    inputs: { version: { default: version } },
    environments: { production: {} },
    audit: { sinks: [{ type: 'file', dir: join(dir, 'audit') }] },
    stages: [
      {
        name: 'web',
        environment: 'production',
        target: { type: 'fleet', hosts: fleet.hosts, current: ctlCommand('current'), deploy: ctlCommand('deploy'), health: ctlCommand('health'), revert: ctlCommand('revert'), timeout: '20s', checkTimeout: '5s' },
        router: { type: 'haproxy', socket: proxy.socket, backend: 'app', canary: fleet.hosts.slice(0, 3), stable: fleet.hosts[3] },
        verify: { timeout: '20s', interval: '300ms', failureThreshold: 2 },
        monitor: { interval: '500ms', failureThreshold: 2 },
        // Blue keeps running this long after the switch: the window in which a sick green is switched back.
        strategy: { type: 'blue-green', scaleDownDelay: '8s' },
      },
    ],
  };
}

/** Runs the blue-green of `version` under load; requests are filed by the step running when they start. */
async function blueGreen(version: string) {
  const load = startLoad(proxy.url, { rate: 200, concurrency: 4 });
  try {
    load.phase('before');
    await load.completed(50);
    const onEvent = (e: RunEvent) => {
      if (e.kind === 'step.started') load.phase(e.step);
      if (e.kind === 'rollback.started') load.phase('rollback');
      if (e.kind === 'run.finished') load.phase('after');
    };
    const run = await runE2E(dir, `bg-${version}.yml`, workflow(version), {}, onEvent);
    await load.completed(50);
    return { ...run, counts: load.counts() };
  } finally {
    await load.stop();
  }
}

function report(name: string, counts: Record<string, PhaseCounts>): string {
  const lines = Object.entries(counts).map(([phase, c]) => `  ${phase}: ${c.failed} of ${c.requests} failed ${JSON.stringify(c.versions)}`);
  const text = `${name}:\n${lines.join('\n')}`;
  console.log(text);
  return text;
}

const failed = (counts: Record<string, PhaseCounts>, ...phases: string[]) => phases.reduce((n, p) => n + (counts[p]?.failed ?? 0), 0);

describe('blue-green through HAProxy on a host fleet, under load', () => {
  it('switches to green and promotes it; no request fails', { timeout: 60_000 }, async () => {
    const { outcome, of, counts } = await blueGreen('v2');
    const text = report('switch to v2', counts);
    expect(outcome.status, JSON.stringify(of('step.failed'))).toBe('succeeded');
    expect(of('step.succeeded').map((e) => e.step)).toEqual(['deploy-green', 'verify-green', 'switch', 'scale-down-delay', 'remove-blue']);
    // On green, only green answers: blue (web-04) got no request after the switch.
    expect(Object.keys(counts['scale-down-delay']?.versions ?? {})).toEqual(['v2']);
    expect(counts['after']?.versions).toEqual({ v2: counts['after']?.requests });
    expect(await fleet.versions()).toEqual(Object.fromEntries(fleet.hosts.map((h) => [h, 'v2'])));
    // finalize put every server's weight and state back as found.
    expect(await weights()).toBe(found);
    expect(failed(counts, 'deploy-green', 'verify-green', 'switch', 'scale-down-delay', 'remove-blue', 'after'), text).toBe(0);
    expect(failed(counts, ...Object.keys(counts)), text).toBe(0);
  });

  it('switches back to blue when green turns unhealthy after the switch; no request fails', { timeout: 60_000 }, async () => {
    await Promise.all(fleet.hosts.map((h) => fleet.ctl('deploy', h, { ROLLGATE_VERSION: 'v1' })));
    // v3 passes its health checks for 3.5 s (verify-green, the switch), then fails them.
    await fleet.sickAfter('v3', 3500);
    const { outcome, of, counts } = await blueGreen('v3');
    const text = report('switch to v3 and back', counts);
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.exitCode).toBe(1);
    expect(of('step.succeeded').map((e) => e.step)).toEqual(['deploy-green', 'verify-green', 'switch']);
    const reason = of('rollback.started')[0]?.reason ?? '';
    console.log(`rollback reason: ${reason}`);
    expect(reason).toMatch(/health|unhealthy/i);
    expect(of('rollback.finished')).toEqual([expect.objectContaining({ complete: true, remaining: [] })]);
    // Green took the traffic before it was switched back.
    expect(counts['scale-down-delay']?.versions['v3'] ?? 0).toBeGreaterThan(0);
    expect(counts['after']?.versions).toEqual({ v1: counts['after']?.requests });
    expect(await fleet.versions()).toEqual(Object.fromEntries(fleet.hosts.map((h) => [h, 'v1'])));
    expect(await weights()).toBe(found);
    expect(failed(counts, 'switch', 'scale-down-delay', 'rollback', 'after'), text).toBe(0);
    expect(failed(counts, ...Object.keys(counts)), text).toBe(0);
  });
});
