import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as haproxy from '../../core/src/routers/haproxy.js';
import * as nginx from '../../core/src/routers/nginx.js';
import type { TrafficRouter } from '../../core/src/ports/traffic-router.js';
import { fakeDeps, fakeStepContext } from '../../core/src/testing/fakes.js';
import { startApp, type AppServer } from './app-server.js';
import { startLoad, type PhaseCounts } from './router-load.js';
import { startHaproxy, type HaproxyServer } from './servers/haproxy.js';
import { startNginx, type NginxServer } from './servers/nginx.js';

/*
 * A blue-green switch through each real proxy while real traffic flows: a load generator sends
 * about 300 requests a second, each on a new connection, through the proxy the whole time; the
 * router sends 100 % to green (v2), then rolls back to blue (v1). The versions in the answers
 * follow the switch, and no request fails during the switch nor during the rollback.
 */
let blue: AppServer;
let green: AppServer;
let proxyNginx: NginxServer | undefined;
let proxyHaproxy: HaproxyServer | undefined;

beforeAll(async () => {
  [blue, green] = await Promise.all([startApp('v1'), startApp('v2')]);
});
afterAll(async () => {
  await proxyNginx?.stop();
  await proxyHaproxy?.stop();
  await Promise.all([blue?.close(), green?.close()]);
});

/** Drives the switch and the rollback under load; returns what each phase saw. */
async function switchUnderLoad(url: string, router: TrafficRouter): Promise<Record<string, PhaseCounts>> {
  const ctx = () => fakeStepContext({ stage: 'web' });
  const load = startLoad(url, { rate: 300 });
  try {
    load.phase('before');
    await load.completed(100);
    load.phase('switch');
    await router.setWeights({ canary: 100 }, ctx());
    load.phase('on green');
    await load.completed(100);
    expect(await router.getWeights(ctx())).toEqual({ canary: 100 });
    load.phase('rollback');
    await router.setWeights({ canary: 0 }, ctx());
    load.phase('on blue');
    await load.completed(100);
    expect(await router.getWeights(ctx())).toEqual({ canary: 0 });
    await router.finalize(ctx());
  } finally {
    await load.stop();
  }
  return load.counts();
}

/**
 * The switch and the rollback as windows: the requests that started while the router call ran
 * and the 100 after it (a Runtime API call is over in a few milliseconds, before any request ends).
 */
function windows(counts: Record<string, PhaseCounts>): Record<'switch' | 'rollback', { requests: number; failed: number }> {
  const sum = (...phases: string[]) => ({
    requests: phases.reduce((n, p) => n + (counts[p]?.requests ?? 0), 0),
    failed: phases.reduce((n, p) => n + (counts[p]?.failed ?? 0), 0),
  });
  return { switch: sum('switch', 'on green'), rollback: sum('rollback', 'on blue') };
}

function report(name: string, counts: Record<string, PhaseCounts>): void {
  const line = (phase: string) => {
    const c = counts[phase] ?? { requests: 0, failed: 0, versions: {} };
    return `${phase}: ${c.requests} requests, ${c.failed} failed ${JSON.stringify(c.versions)}`;
  };
  const w = windows(counts);
  console.log(
    `${name} blue-green under load: ${w.switch.failed} of ${w.switch.requests} requests failed during the switch, ${w.rollback.failed} of ${w.rollback.requests} during the rollback\n  ${['before', 'switch', 'on green', 'rollback', 'on blue'].map(line).join('\n  ')}`,
  );
}

function expectSwitchFollowed(counts: Record<string, PhaseCounts>): void {
  const only = (phase: string, version: string) => {
    const c = counts[phase] as PhaseCounts;
    expect(c.versions, `every answer of phase '${phase}' comes from ${version}`).toEqual({ [version]: c.requests });
  };
  only('before', 'v1');
  only('on green', 'v2');
  only('on blue', 'v1');
  expect(windows(counts), 'failed requests during the switch and the rollback').toMatchObject({ switch: { failed: 0 }, rollback: { failed: 0 } });
  expect(Object.values(counts).reduce((n, c) => n + c.failed, 0), 'failed requests in all').toBe(0);
}

describe('a blue-green switch and its rollback under load', () => {
  it('through nginx: the upstream file, nginx -t and a graceful reload drop no request', { timeout: 60_000 }, async () => {
    proxyNginx = await startNginx({ upstream: 'app', upstreamText: `upstream app {\n    server 127.0.0.1:${blue.port};\n}\n` });
    const router = nginx.create(
      nginx.configSchema.parse({
        type: 'nginx',
        upstreamFile: proxyNginx.upstreamFile,
        upstream: 'app',
        stable: `127.0.0.1:${blue.port}`,
        canary: `127.0.0.1:${green.port}`,
        nginx: proxyNginx.binary,
        args: proxyNginx.args,
        pidFile: proxyNginx.pidFile,
      }),
      fakeDeps({ workDir: proxyNginx.dir }),
    );
    const counts = await switchUnderLoad(proxyNginx.url, router);
    report('nginx', counts);
    expectSwitchFollowed(counts);
  });

  it('through HAProxy: Runtime API weights drop no request', { timeout: 60_000 }, async () => {
    proxyHaproxy = await startHaproxy({
      servers: [
        { name: 'blue', port: blue.port, weight: 100 },
        { name: 'green', port: green.port, weight: 0 },
      ],
    });
    const router = haproxy.create(
      haproxy.configSchema.parse({ type: 'haproxy', socket: proxyHaproxy.socket, backend: 'app', stable: 'blue', canary: 'green' }),
      fakeDeps({ workDir: proxyHaproxy.dir }),
    );
    const counts = await switchUnderLoad(proxyHaproxy.url, router);
    report('HAProxy', counts);
    expectSwitchFollowed(counts);
  });
});
