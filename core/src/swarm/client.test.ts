import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useSwarm } from '../../../tests/real/swarm/daemon.js';
import { type FaultProxy, startFaultProxy } from '../../../tests/real/swarm/fault-proxy.js';
import { serviceSpec } from '../../../tests/real/swarm/images.js';
import { freePort } from '../../../tests/real/app-server.js';
import { ProviderError } from '../errors.js';
import { DockerClient } from './client.js';
import type { ServiceSpec } from './types.js';

/*
 * The Engine API client against a real Docker daemon in swarm mode (Debian's docker.io, started for
 * this file), and through a socket in front of it for the answers a healthy daemon does not give
 * on demand (503, 429, a proxy's refusal). Every message a user can meet is checked.
 */

let image = '';
let proxy: FaultProxy;
const swarmd = useSwarm(async (daemon) => {
  image = await daemon.image('1.0.0');
});
beforeAll(async () => {
  proxy = await startFaultProxy(swarmd().socket);
});
afterAll(() => proxy?.close());

const live = () => new AbortController().signal;
const direct = () => new DockerClient({ socketPath: swarmd().socket, label: swarmd().host });
const proxied = () => new DockerClient({ socketPath: proxy.host.slice('unix://'.length), label: 'unix:///proxy.sock' });
const spec = (name: string) => serviceSpec(name, image, { portBase: swarmd().portBase, replicas: 0 }) as ServiceSpec;

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe('the Docker Engine API client', () => {
  it('creates, reads, updates and removes a service; a service is found by its name only, never by a prefix of its ID', async () => {
    const api = direct();
    const id = await api.createService(spec('api'), live());
    const read = await api.service('api', live());
    expect(read?.ID).toBe(id);
    expect(read?.Spec.TaskTemplate?.ContainerSpec?.Image).toBe(image);
    expect(await api.service(id.slice(0, 6), live()), 'the daemon finds a service by an ID prefix; the client does not').toBeUndefined();
    expect(await api.service('nothing-here', live())).toBeUndefined();
    await api.updateService(read!, { ...read!.Spec, Labels: { tier: 'edge' } }, live());
    expect((await api.service('api', live()))?.Spec.Labels).toEqual({ tier: 'edge' });
    expect((await api.tasks({ service: [id] }, live())).every((t) => t.ServiceID === id)).toBe(true);
    expect((await api.nodes(live())).length).toBe(1);
    expect(await api.removeService('api', live())).toBe(true);
    expect(await api.removeService('api', live())).toBe(false);
  });

  it('an update at a stale Version.Index is a conflict: retryable, and told apart from other failures', async () => {
    const api = direct();
    await api.createService(spec('stale'), live());
    const first = (await api.service('stale', live()))!;
    await api.updateService(first, { ...first.Spec, Labels: { by: 'someone else' } }, live());
    const err = await failure(api.updateService(first, { ...first.Spec, Labels: { by: 'rollgate' } }, live()));
    expect(err.message).toBe("swarm: cannot update service stale: it changed since rollgate read it (update out of sequence); read it again");
    expect(err.retryable).toBe(true);
    expect(DockerClient.isConflict(err)).toBe(true);
    expect(DockerClient.isConflict(new ProviderError('swarm: other'))).toBe(false);
    await api.removeService('stale', live());
  });

  it('a name already taken, and a spec the daemon refuses, are not retryable and carry the daemon’s words', async () => {
    const api = direct();
    await api.createService(spec('taken'), live());
    const taken = await failure(api.createService(spec('taken'), live()));
    expect(taken.message).toMatch(/^swarm: cannot create service taken \(409\): .*name conflicts with an existing object.*: the name is already taken by another service$/);
    expect(taken.retryable).toBe(false);
    const invalid = await failure(api.createService({ ...spec('bad'), Name: 'not/a/name' }, live()));
    expect(invalid.message).toMatch(/^swarm: cannot create service not\/a\/name \(400\): .+/);
    expect(invalid.retryable).toBe(false);
    await api.removeService('taken', live());
  });

  it('5xx and 429 answers are retryable; a refusal by a proxy in front of the daemon is not, and says what to allow', async () => {
    const api = proxied();
    proxy.failNext('GET', /\/services\/web$/, 500, 'rpc error: code = Unavailable desc = the raft is busy');
    const busy = await failure(api.service('web', live()));
    expect(busy.message).toBe('swarm: cannot read service web (500): rpc error: code = Unavailable desc = the raft is busy: the daemon is overloaded or failing; retried');
    expect(busy.retryable).toBe(true);
    proxy.failNext('GET', /\/nodes$/, 429, 'too many requests');
    expect((await failure(api.nodes(live()))).retryable).toBe(true);
    proxy.failNext('GET', /\/tasks$/, 403, { text: '<html>Forbidden</html>' });
    const forbidden = await failure(api.tasks({}, live()));
    expect(forbidden.message).toBe(
      'swarm: cannot list tasks (403): <html>Forbidden</html>: the daemon (or a proxy in front of it) at unix:///proxy.sock refuses this call; allow the services, tasks and nodes endpoints for rollgate',
    );
    expect(forbidden.retryable).toBe(false);
  });

  it('a socket that is gone, and one nobody listens on, say where and what to do; only the second is retried', async () => {
    const dir = await mkdtemp('/tmp/rgsw-gone-');
    try {
      const gone = await failure(new DockerClient({ socketPath: join(dir, 'docker.sock'), label: `unix://${join(dir, 'docker.sock')}` }).service('web', live()));
      expect(gone.message).toBe(
        `swarm: cannot read service web: there is no socket at ${join(dir, 'docker.sock')}: the Docker daemon is not running there; start it, or point swarm.host (or DOCKER_HOST) at its socket`,
      );
      expect(gone.retryable).toBe(false);
      // A socket file whose listener was killed: what a crashed daemon leaves behind.
      const stale = join(dir, 'stale.sock');
      await new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
        child.once('exit', () => resolve());
        child.once('error', reject);
      });
      const refused = await failure(new DockerClient({ socketPath: stale, label: `unix://${stale}` }).nodes(live()));
      expect(refused.message).toBe(
        `swarm: cannot list nodes: nothing accepts connections at unix://${stale}: the Docker daemon is stopped or restarting; start it, or point swarm.host (or DOCKER_HOST) at a running daemon`,
      );
      expect(refused.retryable).toBe(true);
      const port = await freePort();
      const tcp = await failure(new DockerClient({ host: '127.0.0.1', port, label: `tcp://127.0.0.1:${port}` }).nodes(live()));
      expect(tcp.message).toBe(`swarm: cannot list nodes: nothing accepts connections at tcp://127.0.0.1:${port}: the Docker daemon is stopped or restarting; start it, or point swarm.host (or DOCKER_HOST) at a running daemon`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an aborted signal ends a call at once, and a call the daemon holds as soon as it aborts, with the signal’s reason', async () => {
    const api = proxied();
    const before = new AbortController();
    before.abort(new Error('stage cancelled'));
    await expect(api.nodes(before.signal)).rejects.toThrow('stage cancelled');
    const during = new AbortController();
    proxy.hang('GET', /\/services\/held$/, () => during.abort(new Error('deadline passed')));
    await expect(api.service('held', during.signal)).rejects.toThrow('deadline passed');
    const silent = new AbortController();
    silent.abort();
    const err = await api.service('web', silent.signal).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
  });

  it('a daemon that is not a swarm manager is not retried, and the message says to init the swarm or use a manager', async () => {
    const daemon = swarmd();
    await daemon.api('POST', '/swarm/leave?force=true');
    try {
      const err = await failure(direct().service('web', live()));
      expect(err.message).toMatch(/^swarm: cannot read service web \(503\): This node is not a swarm manager\..*: the daemon at unix:\/\/\/tmp\/rgsw-\w+\/docker\.sock is not a swarm manager; run `docker swarm init` there, or point swarm\.host \(or DOCKER_HOST\) at a manager's socket$/);
      expect(err.retryable).toBe(false);
    } finally {
      await daemon.docker(['swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', `127.0.0.1:${await freePort()}`]);
    }
  });
});
