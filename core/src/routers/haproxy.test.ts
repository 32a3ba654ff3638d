import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort, startApp, type AppServer } from '../../../tests/real/app-server.js';
import { startHaproxy, type HaproxyServer } from '../../../tests/real/servers/haproxy.js';
import { CancelledError, ProviderError } from '../errors.js';
import type { Change } from '../model/events.js';
import { rejection } from '../testing/contracts/kit.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { MemoryProviderStates } from '../testing/state.js';
import { configSchema, create, type } from './haproxy.js';
import { parseInfo } from './haproxy/servers-state.js';
import { routers } from './index.js';

/* The haproxy router against a real HAProxy: backend app, servers blue (v1, weight 100) and green (v2, weight 0). */
let blue: AppServer;
let green: AppServer;
let server: HaproxyServer;

beforeAll(async () => {
  [blue, green] = await Promise.all([startApp('v1'), startApp('v2')]);
  server = await startHaproxy({
    servers: [
      { name: 'blue', port: blue.port, weight: 100 },
      { name: 'green', port: green.port, weight: 0 },
    ],
  });
});
afterAll(async () => {
  await server?.stop();
  await Promise.all([blue?.close(), green?.close()]);
});
beforeEach(async () => {
  for (const line of ['set server app/blue state ready', 'set server app/green state ready', 'set weight app/blue 100', 'set weight app/green 0']) await server.command(line);
});

function setup(extra: Record<string, unknown> = {}, states = new MemoryProviderStates()) {
  const changes: Change[] = [];
  const warnings: string[] = [];
  const config = configSchema.parse({ type: 'haproxy', socket: server.socket, backend: 'app', stable: 'blue', canary: 'green', ...extra });
  const router = create(config, fakeDeps({ workDir: server.dir }, { states }));
  const ctx = (signal?: AbortSignal) =>
    fakeStepContext({ stage: 'web', changes, log: { info() {}, warn: (m) => warnings.push(m), output() {} }, ...(signal ? { signal } : {}) });
  return { router, states, changes, warnings, ctx };
}

/** name → [srv_admin_state, srv_uweight], as HAProxy reports them. */
async function servers(): Promise<Record<string, [string, string]>> {
  const answer = await server.command('show servers state app');
  const rows = answer.split('\n').filter((l) => /^\d+ app /.test(l)).map((l) => l.split(' '));
  return Object.fromEntries(rows.map((f) => [f[3] as string, [f[6] as string, f[7] as string]]));
}

describe('haproxy router', () => {
  it('is registered and validates its config', () => {
    expect(routers.haproxy.type).toBe(type);
    expect(configSchema.parse({ type: 'haproxy', socket: '/run/haproxy/admin.sock', backend: 'app', stable: ['a', 'b'], canary: 'c' })).toMatchObject({ timeout: 5000 });
    expect(() => configSchema.parse({ type: 'haproxy', socket: 's', backend: 'app', stable: 'a', canary: ['a'] })).toThrow('a server cannot be both stable and canary');
    expect(() => configSchema.parse({ type: 'haproxy', socket: 's', backend: 'app', stable: 'a', canary: 'b', extra: 1 })).toThrow();
  });

  it('switches all traffic with a ready server always there, and records the changes', async () => {
    const { router, ctx, changes } = setup({ socket: server.tcpSocket });
    await router.setWeights({ canary: 100 }, ctx());
    expect(await servers()).toEqual({ blue: ['0', '0'], green: ['0', '1'] });
    const res = await fetch(server.url);
    expect(res.headers.get('x-app-version')).toBe('v2');
    await res.text();
    await router.setWeights({ canary: 0 }, ctx());
    expect(await router.getWeights(ctx())).toEqual({ canary: 0 });
    expect(changes).toEqual([
      { object: 'haproxy-backend/app', field: 'weight', before: 0, after: 100 },
      { object: 'haproxy-backend/app', field: 'weight', before: 100, after: 0 },
    ]);
  });

  it('reports the share it set even where HAProxy weights (at most 256) only come close to it', async () => {
    const infos: string[] = [];
    const { router, ctx } = setup();
    await router.setWeights({ canary: 0.3 }, fakeStepContext({ stage: 'web', log: { info: (m) => infos.push(m), warn() {}, output() {} } }));
    expect(infos).toEqual(['HAProxy weights are integers up to 256: 0.3% is served as 0.39%']);
    expect(await servers()).toEqual({ blue: ['0', '256'], green: ['0', '1'] });
    expect(await router.getWeights(ctx())).toEqual({ canary: 0.3 });
    // Someone else changes the weights: the router reports what HAProxy does.
    await server.command('set weight app/green 256');
    expect(await router.getWeights(ctx())).toEqual({ canary: 50 });
  });

  it('detects that a restart lost the runtime weights, reports it, and puts them back on the next setWeights', async () => {
    const first = setup();
    await first.router.setWeights({ canary: 30 }, first.ctx());
    const pid = parseInfo(await server.command('show info'), server.socket, Date.now()).pid;
    await server.restart();
    const now = parseInfo(await server.command('show info'), server.socket, Date.now()).pid;
    // A later process of the run, with only the persisted state.
    const resumed = setup({}, first.states.reopen());
    const err = (await rejection(resumed.router.getWeights(resumed.ctx()))) as ProviderError;
    expect(err.message).toBe(
      `haproxy router: HAProxy at ${server.socket} was reloaded or restarted (pid ${pid} → ${now}) since rollgate sent 30% of backend app to the canary, and lost those runtime weights (keep them across reloads with server-state-file and load-server-state-from-file): it sends 0% to the canary now; the next setWeights sets them again`,
    );
    expect(err.retryable).toBe(true);
    await resumed.router.setWeights({ canary: 30 }, resumed.ctx());
    expect(resumed.warnings).toEqual([expect.stringContaining('lost those runtime weights')]);
    expect(resumed.warnings[0]).toMatch(/; setting the weights again$/);
    expect(await resumed.router.getWeights(resumed.ctx())).toEqual({ canary: 30 });
    expect(await servers()).toEqual({ blue: ['0', '7'], green: ['0', '3'] });
  });

  it('a resumed process restores the weights and states it found on first touch', async () => {
    await server.command('set server app/green state maint');
    await server.command('set weight app/blue 80');
    const found = await servers();
    const first = setup();
    await first.router.setWeights({ canary: 50 }, first.ctx());
    expect(await servers()).toEqual({ blue: ['0', '1'], green: ['0', '1'] });
    const resumed = setup({}, first.states.reopen());
    await resumed.router.finalize(resumed.ctx());
    expect(await servers()).toEqual(found);
    expect(resumed.changes).toEqual([{ object: 'haproxy-backend/app', field: 'weight', before: 50, after: 0 }]);
    expect(resumed.states.handle('provider').get()).toEqual({ found: { blue: { weight: 80, admin: 'ready' }, green: { weight: 0, admin: 'maint' } } });
    await resumed.router.finalize(resumed.ctx());
    expect(resumed.changes).toHaveLength(1);
  });

  it('names an unknown backend or server', async () => {
    const backend = setup({ backend: 'nope' });
    expect(((await rejection(backend.router.setWeights({ canary: 10 }, backend.ctx()))) as Error).message).toBe(
      `haproxy router: HAProxy at ${server.socket} has no backend nope; check \`backend\` against haproxy.cfg`,
    );
    const named = setup({ canary: ['green', 'purple'] });
    expect(((await rejection(named.router.getWeights(named.ctx()))) as Error).message).toBe(
      `haproxy router: backend app of HAProxy at ${server.socket} has no server purple (it has blue, green); check \`stable\` and \`canary\``,
    );
  });

  it('says when the socket may not change weights, or answers something else', async () => {
    const user = setup({ socket: server.userSocket });
    expect(((await rejection(user.router.setWeights({ canary: 10 }, user.ctx()))) as Error).message).toBe(
      `haproxy router: HAProxy at ${server.userSocket} refused \`set weight app/blue 9\`: Permission denied (the socket needs \`level admin\`)`,
    );
    const http = setup({ socket: `127.0.0.1:${blue.port}` });
    expect(((await rejection(http.router.getWeights(http.ctx()))) as Error).message).toBe(
      `haproxy router: unexpected answer from HAProxy at 127.0.0.1:${blue.port} to \`show info\`: HTTP/1.1 400 Bad Request\r`,
    );
  });

  it('names a socket that is gone, as a retryable error, and works again once HAProxy is back', async () => {
    const { router, ctx } = setup();
    await server.halt();
    try {
      // HAProxy leaves its socket file behind when it stops.
      const err = (await rejection(router.getWeights(ctx()))) as ProviderError;
      expect(err.message).toBe(`haproxy router: nothing answers on the HAProxy admin socket ${server.socket} (ECONNREFUSED): HAProxy is stopped or restarting`);
      expect(err.retryable).toBe(true);
    } finally {
      await server.restart();
    }
    expect(await router.getWeights(ctx())).toEqual({ canary: 0 });
    const dir = await mkdtemp(join(tmpdir(), 'rollgate-haproxy-gone-'));
    try {
      // A relative path is the workflow folder's.
      const relative = create(configSchema.parse({ type: 'haproxy', socket: 'unix@admin.sock', backend: 'app', stable: 'blue', canary: 'green' }), fakeDeps({ workDir: dir }));
      const gone = (await rejection(relative.getWeights(ctx()))) as ProviderError;
      expect(gone.message).toBe(
        `haproxy router: the HAProxy admin socket ${join(dir, 'admin.sock')} does not exist: is HAProxy running, with \`stats socket ${join(dir, 'admin.sock')} level admin\` in its global section?`,
      );
      expect(gone.retryable).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // A path through a file: neither missing nor refused.
    const through = setup({ socket: join(server.cfg, 'admin.sock') });
    expect(((await rejection(through.router.getWeights(through.ctx()))) as Error).message).toBe(
      `haproxy router: cannot talk to the HAProxy admin socket ${join(server.cfg, 'admin.sock')}: connect ENOTDIR ${join(server.cfg, 'admin.sock')}`,
    );
    const port = await freePort();
    const refused = setup({ socket: `ipv4@127.0.0.1:${port}` });
    expect(((await rejection(refused.router.getWeights(refused.ctx()))) as Error).message).toBe(
      `haproxy router: nothing answers on the HAProxy admin socket 127.0.0.1:${port} (ECONNREFUSED): HAProxy is stopped or restarting`,
    );
  });

  it('gives up on a socket that does not answer within its timeout', async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    try {
      const port = (silent.address() as { port: number }).port;
      const { router, ctx } = setup({ socket: `127.0.0.1:${port}`, timeout: '200ms' });
      const err = (await rejection(router.getWeights(ctx()))) as ProviderError;
      expect(err.message).toBe(`haproxy router: no answer from the HAProxy admin socket 127.0.0.1:${port} within 200ms to \`show info\``);
      expect(err.retryable).toBe(true);
      const controller = new AbortController();
      const pending = router.getWeights(ctx(controller.signal));
      controller.abort(new CancelledError('deadline'));
      expect(((await rejection(pending)) as Error).message).toBe('deadline');
    } finally {
      silent.close();
    }
  });

  it('stops at once with the reason of an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort(new CancelledError('cancelled by the user'));
    const { router, ctx, states } = setup();
    for (const call of [router.setWeights({ canary: 10 }, ctx(controller.signal)), router.getWeights(ctx(controller.signal))]) {
      expect(((await rejection(call)) as Error).message).toBe('cancelled by the user');
    }
    await states.handle('provider').put({ found: {} });
    expect(((await rejection(router.finalize(ctx(controller.signal)))) as Error).message).toBe('cancelled by the user');
  });
});
