import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startApp, type AppServer } from '../../../tests/real/app-server.js';
import { startNginx, type NginxServer } from '../../../tests/real/servers/nginx.js';
import { CancelledError, ProviderError } from '../errors.js';
import type { Change } from '../model/events.js';
import { rejection } from '../testing/contracts/kit.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { MemoryProviderStates } from '../testing/state.js';
import { routers } from './index.js';
import { configSchema, create, type } from './nginx.js';
import { activeWorkers, masterPid } from './nginx/workers.js';

/* The nginx router against a real nginx and two real app servers; each test starts from a file that sends everything to v1. */
let v1: AppServer;
let v2: AppServer;
let server: NginxServer;
const address = (app: AppServer) => `127.0.0.1:${app.port}`;
const initial = () => `upstream app {\n    server ${address(v1)};\n}\n`;

beforeAll(async () => {
  [v1, v2] = await Promise.all([startApp('v1'), startApp('v2')]);
  // One worker: its round robin is the whole proxy's, so a split shows exactly in a few requests.
  server = await startNginx({ upstream: 'app', upstreamText: initial(), workers: 1 });
});
afterAll(async () => {
  await server?.stop();
  await Promise.all([v1?.close(), v2?.close()]);
});
beforeEach(async () => {
  await server.replaceUpstream(initial());
});

function config(extra: Record<string, unknown> = {}) {
  return configSchema.parse({
    type: 'nginx',
    upstreamFile: server.upstreamFile,
    upstream: 'app',
    stable: address(v1),
    canary: address(v2),
    nginx: server.binary,
    args: server.args,
    pidFile: server.pidFile,
    ...extra,
  });
}

function setup(extra: Record<string, unknown> = {}, states = new MemoryProviderStates()) {
  const changes: Change[] = [];
  const router = create(config(extra), fakeDeps({ workDir: server.dir }, { states }));
  return { router, states, changes, ctx: (signal?: AbortSignal) => fakeStepContext({ stage: 'web', changes, ...(signal ? { signal } : {}) }) };
}

const upstreamText = () => readFile(server.upstreamFile, 'utf8');
const workerPids = async () => (await activeWorkers(await masterPid(server.pidFile))).map((w) => w.pid);

/** What the proxy answers: the versions of `n` sequential requests. */
async function versions(n: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i += 1) {
    const res = await fetch(server.url, { headers: { connection: 'close' } });
    const version = res.headers.get('x-app-version') ?? `status ${res.status}`;
    seen[version] = (seen[version] ?? 0) + 1;
    await res.text();
  }
  return seen;
}

describe('nginx router', () => {
  it('is registered and validates its config', () => {
    expect(routers.nginx.type).toBe(type);
    expect(config()).toMatchObject({ verify: 'workers', reloadTimeout: 10_000, timeout: 30_000 });
    expect(configSchema.parse({ type: 'nginx', upstreamFile: 'u.conf', upstream: 'app', stable: 'a:1', canary: 'b:1' })).toMatchObject({
      nginx: 'nginx',
      args: [],
      pidFile: '/run/nginx.pid',
    });
    expect(() => config({ canary: [address(v1)] })).toThrow('an address cannot be both stable and canary');
    expect(() => config({ upstream: 'a b' })).toThrow('expected an upstream name');
    expect(() => config({ extra: true })).toThrow();
  });

  it('rewrites only the servers of its upstream, and nginx serves the split', async () => {
    const { router, ctx, changes } = setup();
    await router.setWeights({ canary: 100 }, ctx());
    expect(await upstreamText()).toBe(`upstream app {\n    server ${address(v1)} down;\n    server ${address(v2)} weight=1;\n}\n`);
    expect(await versions(6)).toEqual({ v2: 6 });
    await router.setWeights({ canary: 50 }, ctx());
    expect(await versions(6)).toEqual({ v1: 3, v2: 3 });
    expect(changes).toEqual([
      { object: 'nginx-upstream/app', field: 'weight', before: 0, after: 100 },
      { object: 'nginx-upstream/app', field: 'weight', before: 100, after: 50 },
    ]);
  });

  it('keeps a file rejected by nginx -t out of service: the old file is put back, nothing reloaded, and nginx says why', async () => {
    const { router, ctx } = setup({ canary: '127.0.0.1:99999' });
    const before = await upstreamText();
    const workers = await workerPids();
    const err = (await rejection(router.setWeights({ canary: 10 }, ctx()))) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toContain(`nginx router: \`${server.binary} ${server.args.join(' ')} -T\` rejected the new weights of upstream app (exited with code 1), so ${server.upstreamFile} was put back and nginx was not reloaded:`);
    expect(err.message).toContain(`[emerg] invalid port in upstream "127.0.0.1:99999" in ${server.upstreamFile}:3`);
    expect(err.nothingChanged).toBe(true);
    expect(await upstreamText()).toBe(before);
    expect(await workerPids()).toEqual(workers);
    expect(await setup().router.getWeights(ctx())).toEqual({ canary: 0 });
  });

  it('names a missing nginx binary and puts the file back', async () => {
    const { router, ctx } = setup({ nginx: '/opt/rollgate-missing/nginx' });
    const err = (await rejection(router.setWeights({ canary: 10 }, ctx()))) as ProviderError;
    expect(err.message).toBe(
      `nginx router: cannot test ${server.upstreamFile} (so it was put back): command '/opt/rollgate-missing/nginx' not found at /opt/rollgate-missing/nginx: install it on the runner or give its full path`,
    );
    expect(err.nothingChanged).toBe(true);
    expect(await upstreamText()).toBe(initial());
    // A file that was not there before is removed again.
    const fresh = join(server.dir, 'fresh-upstream.conf');
    const none = setup({ nginx: '/opt/rollgate-missing/nginx', upstreamFile: fresh });
    await rejection(none.router.setWeights({ canary: 10 }, none.ctx()));
    await expect(stat(fresh)).rejects.toThrow('ENOENT');
  });

  it('names an upstream file it cannot write', async () => {
    const { router, ctx } = setup({ upstreamFile: '/sys/rollgate-upstream.conf' });
    const err = (await rejection(router.setWeights({ canary: 10 }, ctx()))) as ProviderError;
    expect(err.message).toMatch(
      /^nginx router: cannot write the upstream file \/sys\/rollgate-upstream.conf \((EACCES|EPERM|EROFS)\): rollgate writes a temp file beside it and renames it over the file, so its folder must be writable$/,
    );
    expect(err.nothingChanged).toBe(true);
  });

  it('names an upstream file it cannot read, or that lacks the upstream, or has servers of no version', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rollgate-nginx-files-'));
    try {
      const unreadable = setup({ upstreamFile: dir });
      expect(((await rejection(unreadable.router.getWeights(unreadable.ctx()))) as Error).message).toMatch(
        new RegExp(`^nginx router: cannot read the upstream file ${dir}: EISDIR`),
      );
      const missing = setup({ upstreamFile: join(dir, 'none.conf') });
      expect(((await rejection(missing.router.getWeights(missing.ctx()))) as Error).message).toBe(
        `nginx router: the upstream file ${join(dir, 'none.conf')} does not exist, so the split of upstream app is unknown`,
      );
      await writeFile(join(dir, 'other.conf'), 'upstream other { server 127.0.0.1:1; }\n');
      const other = setup({ upstreamFile: join(dir, 'other.conf') });
      expect(((await rejection(other.router.setWeights({ canary: 10 }, other.ctx()))) as Error).message).toBe(
        `nginx router: ${join(dir, 'other.conf')} has no \`upstream app { … }\` block; rollgate rewrites the weights of that block (and writes the whole file only when it does not exist)`,
      );
      await writeFile(join(dir, 'extra.conf'), `upstream app { server ${address(v1)}; server 127.0.0.1:9; server 127.0.0.1:8 backup; }\n`);
      const extra = setup({ upstreamFile: join(dir, 'extra.conf') });
      expect(((await rejection(extra.router.getWeights(extra.ctx()))) as Error).message).toBe(
        `nginx router: upstream app in ${join(dir, 'extra.conf')} has server 127.0.0.1:9, which is neither stable nor canary: it would take a share of the traffic; add it to \`stable\` or \`canary\`, or remove it`,
      );
      await writeFile(join(dir, 'down.conf'), `upstream app { server ${address(v1)} down; }\n`);
      const down = setup({ upstreamFile: join(dir, 'down.conf'), verify: 'none' });
      expect(((await rejection(down.router.getWeights(down.ctx()))) as Error).message).toBe(
        `nginx router: no server of upstream app in ${join(dir, 'down.conf')} is up, so it has no split`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a file nginx does not serve yet, and waits no longer than reloadTimeout for a reload that does not happen', async () => {
    await writeFile(server.upstreamFile, `upstream app {\n    server ${address(v1)} weight=3;\n    server ${address(v2)};\n}\n`);
    const { router, ctx } = setup({ reload: ['true'], reloadTimeout: '300ms' });
    const pending = (await rejection(router.getWeights(ctx()))) as ProviderError;
    expect(pending.message).toMatch(
      new RegExp(`^nginx router: nginx does not serve ${server.upstreamFile} yet \\(written at .*Z, after its workers started\\): a reload is pending or failed \\(see nginx's error log\\)$`),
    );
    expect(pending.retryable).toBe(true);
    const err = (await rejection(router.setWeights({ canary: 50 }, ctx()))) as ProviderError;
    expect(err.message).toBe(
      `nginx router: nginx did not start workers serving ${server.upstreamFile} within 300ms of the reload, so it still serves the previous configuration (applying the new one failed, or the reload is slow: see nginx's error log; reloadTimeout waits longer)`,
    );
    expect(err.retryable).toBe(true);
    // The file is right but not served: a second call reloads it rather than calling it done.
    await setup().router.setWeights({ canary: 50 }, ctx());
    expect(await versions(4)).toEqual({ v1: 2, v2: 2 });
  });

  it('says when the reload command fails or cannot run, and that the file holds the new weights', async () => {
    const failing = setup({ reload: { run: 'echo "nginx: [error] invalid PID number" >&2; exit 1', shell: true } });
    expect(((await rejection(failing.router.setWeights({ canary: 20 }, failing.ctx()))) as Error).message).toBe(
      `nginx router: the reload \`echo "nginx: [error] invalid PID number" >&2; exit 1\` exited with code 1; ${server.upstreamFile} holds the new weights, nginx still serves the old ones:\n    [error] invalid PID number`,
    );
    const missing = setup({ reload: ['/opt/rollgate-missing/reload'] });
    expect(((await rejection(missing.router.setWeights({ canary: 30 }, missing.ctx()))) as Error).message).toBe(
      `nginx router: cannot reload nginx: command '/opt/rollgate-missing/reload' not found at /opt/rollgate-missing/reload: install it on the runner or give its full path; ${server.upstreamFile} holds the new weights, nginx still serves the old ones`,
    );
  });

  it('needs a running nginx to verify, and says so before it changes anything', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rollgate-nginx-pid-'));
    try {
      const absent = setup({ pidFile: join(dir, 'nginx.pid') });
      const err = (await rejection(absent.router.setWeights({ canary: 10 }, absent.ctx()))) as ProviderError;
      expect(err.message).toBe(
        `nginx router: cannot read the nginx master's pid from ${join(dir, 'nginx.pid')} (ENOENT): is nginx running? Set pidFile to the \`pid\` of your nginx.conf`,
      );
      expect(err.nothingChanged).toBe(true);
      expect(await upstreamText()).toBe(initial());
      await writeFile(join(dir, 'stale.pid'), `${process.pid}\n`);
      const stale = setup({ pidFile: relative(server.dir, join(dir, 'stale.pid')) });
      expect(((await rejection(stale.router.getWeights(stale.ctx()))) as Error).message).toBe(
        `nginx router: the nginx master process ${process.pid} named in ${join(dir, 'stale.pid')} is not running: is nginx running?`,
      );
      await writeFile(join(dir, 'empty.pid'), '');
      const empty = setup({ pidFile: join(dir, 'empty.pid') });
      expect(((await rejection(empty.router.getWeights(empty.ctx()))) as Error).message).toContain('the nginx master process (empty) named in');
      await expect(activeWorkers(1, join(dir, 'no-proc'))).rejects.toThrow(`nginx router: cannot list processes in ${join(dir, 'no-proc')} to see which configuration nginx serves (Linux only); set verify: none`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('with verify: none, trusts the file once the reload command exits 0', async () => {
    const { router, ctx } = setup({ verify: 'none', pidFile: '/nonexistent/nginx.pid' });
    await router.setWeights({ canary: 25 }, ctx());
    expect(await router.getWeights(ctx())).toEqual({ canary: 25 });
  });

  it('a resumed process finalizes to the file found, and writes an all-stable file when there was none', async () => {
    await server.replaceUpstream(`# hand-made\nupstream app {\n  server ${address(v1)} weight=7 max_fails=2;\n  server ${address(v2)} weight=3;\n}\n`);
    const found = await upstreamText();
    const first = setup();
    await first.router.setWeights({ canary: 60 }, first.ctx());
    const resumed = setup({}, first.states.reopen());
    await resumed.router.finalize(resumed.ctx());
    expect(await upstreamText()).toBe(found);
    expect(resumed.changes).toEqual([{ object: 'nginx-upstream/app', field: 'weight', before: 60, after: 30 }]);
    expect(await resumed.router.getWeights(resumed.ctx())).toEqual({ canary: 30 });

    const states = new MemoryProviderStates();
    await states.handle('provider').put({ found: null });
    const fresh = setup({}, states);
    await fresh.router.finalize(fresh.ctx());
    expect(await upstreamText()).toBe(`# Written by rollgate: the weights of upstream app.\nupstream app {\n    server ${address(v1)} weight=1;\n    server ${address(v2)} down;\n}\n`);
    expect(await versions(3)).toEqual({ v1: 3 });
  });

  it('creates the upstream file nginx includes when there is none', async () => {
    await rm(server.upstreamFile);
    const { router, ctx, states } = setup({ upstreamFile: relative(server.dir, server.upstreamFile) });
    await router.setWeights({ canary: 10 }, ctx());
    expect(states.handle('provider').get()).toEqual({ found: null });
    expect(await upstreamText()).toContain(`server ${address(v1)} weight=9;\n    server ${address(v2)} weight=1;`);
    expect((await stat(server.upstreamFile)).mode & 0o777).toBe(0o644);
    expect(await router.getWeights(ctx())).toEqual({ canary: 10 });
  });

  it('refuses a file nginx does not read, and removes it again', async () => {
    const name = `not-included-${process.pid}.conf`;
    const { router, ctx } = setup({ upstreamFile: name });
    const err = (await rejection(router.setWeights({ canary: 10 }, ctx()))) as ProviderError;
    expect(err.message).toBe(
      `nginx router: nginx does not read ${join(server.dir, name)} (it is not among the files \`${server.binary} ${server.args.join(' ')} -T\` lists), so its weights would change nothing; include it in the http block of nginx.conf, or fix upstreamFile and args`,
    );
    expect(err.nothingChanged).toBe(true);
    await expect(stat(join(server.dir, name))).rejects.toThrow('ENOENT');
  });

  it('stops at once with the reason of an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort(new CancelledError('deadline'));
    const { router, ctx } = setup();
    for (const call of [router.setWeights({ canary: 10 }, ctx(controller.signal)), router.getWeights(ctx(controller.signal))]) {
      expect(((await rejection(call)) as Error).message).toBe('deadline');
    }
    const plain = new AbortController();
    plain.abort();
    await setup({}, setup().states).router.finalize(ctx(plain.signal));
    const touched = setup();
    await touched.states.handle('provider').put({ found: initial() });
    expect(((await rejection(touched.router.finalize(ctx(plain.signal)))) as Error).message).toBe('This operation was aborted');
  });
});
