import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REPOSITORY, useSwarm } from '../../../tests/real/swarm/daemon.js';
import { type FaultProxy, startFaultProxy } from '../../../tests/real/swarm/fault-proxy.js';
import { ms, serviceSpec } from '../../../tests/real/swarm/images.js';
import type { Logger } from '../ports/logger.js';
import type { Target } from '../ports/target.js';
import type { Service } from '../swarm/types.js';
import { contractCall, providerFailure } from '../testing/contracts/kit.js';
import { fakeDeps } from '../testing/fakes.js';
import { MemoryProviderStates } from '../testing/state.js';
import * as swarm from './swarm.js';
import { sameJson, versionOf } from './swarm/services.js';

/*
 * What the swarm target does beyond the shared contract, against a real Docker Swarm (Debian's
 * docker.io daemon, started for this file): the UpdateConfig it sets, what Swarm's own failure
 * actions become, conflicts, the candidate service, and every message a user can meet.
 */

vi.setConfig({ testTimeout: 120_000 });

let dir = '';
let proxy: FaultProxy;
const swarmd = useSwarm(async (daemon) => {
  await Promise.all([daemon.image('1.0.0'), daemon.image('2.0.0'), daemon.image('bad', 'bad'), daemon.image('slow', 'slow')]);
  for (const v of ['1.0.0', '2.0.0']) await daemon.docker(['tag', `${REPOSITORY}:${v}`, `localhost:1/web:${v}`]);
});
beforeAll(async () => {
  dir = await mkdtemp('/tmp/rgsw-target-');
  proxy = await startFaultProxy(swarmd().socket);
});
afterAll(async () => {
  await proxy?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Log lines a call wrote. */
function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(`warn: ${m}`), output() {} };
}

/** A target for service `name` (its spec file written, v1 with `replicas`), through the proxy unless told otherwise. */
async function make(name: string, fields: Record<string, unknown> = {}, options: { replicas?: number; update?: Record<string, unknown>; host?: string; states?: MemoryProviderStates } = {}) {
  const spec = serviceSpec(name, `${REPOSITORY}:1.0.0`, { portBase: swarmd().portBase, replicas: options.replicas ?? 1, update: options.update ?? {} });
  await writeFile(join(dir, `${name}.json`), JSON.stringify(spec));
  const config = swarm.configSchema.parse({ type: 'swarm', service: name, spec: `${name}.json`, interval: '100ms', timeout: '40s', ...fields });
  const states = options.states ?? new MemoryProviderStates();
  return swarm.create(config, fakeDeps({ workDir: dir }, { states, settings: { swarm: { host: options.host ?? proxy.host } } }));
}

const call = (log?: Logger) => contractCall(log ? { log } : {});
const service = async (name: string) => (await swarmd().api<Service>('GET', `/services/${name}`)).body;
const failure = providerFailure;

describe('versions and images', () => {
  it.each([
    ['localhost:1/app:1.0.0', '1.0.0'],
    ['web:1.4.2@sha256:0123abcd', '1.4.2'],
    ['web@sha256:0123abcd', 'sha256:0123abcd'],
    ['registry:5000/team/web', 'latest'],
  ])('%s runs version %s (an image the Docker CLI pinned runs its tag)', (image, version) => {
    expect(versionOf(image)).toBe(version);
  });

  it('specs compare equal whatever order the daemon wrote their keys in', () => {
    expect(sameJson({ a: 1, b: { c: [1, { d: 2, e: 3 }] } }, { b: { c: [1, { e: 3, d: 2 }] }, a: 1 })).toBe(true);
    expect(sameJson({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
  });
});

describe('deploy and revert', () => {
  it('sets the image and the UpdateConfig fields given, keeps the others, and a configured repository replaces the running one', async () => {
    const target = await make('cfg', { image: 'localhost:1/web', update: { parallelism: 2, delay: '100ms' } });
    await target.deploy('1.0.0', call().ctx);
    const deploying = call();
    await target.deploy('2.0.0', deploying.ctx);
    expect(deploying.changes).toEqual([{ object: 'service/cfg', field: 'image', before: 'localhost:1/web:1.0.0', after: 'localhost:1/web:2.0.0' }]);
    const after = await service('cfg');
    expect(after.Spec.UpdateConfig).toEqual({ Parallelism: 2, Delay: ms(100), FailureAction: 'pause', Monitor: ms(500), MaxFailureRatio: 0, Order: 'start-first' });
    expect(await target.current(call().ctx)).toEqual({ version: '2.0.0', details: { image: 'localhost:1/web:2.0.0', service: 'cfg', replicas: 1 } });
    expect(await target.health(call().ctx)).toEqual({ healthy: true, ready: 1, total: 1 });
    expect(await swarmd().served()).toContain('2.0.0');
  });

  it('is done once every task has run the new image for the monitor period, as docker service update is, before Swarm closes its update', async () => {
    // Swarm waits the update's delay after its last task too before it calls the update completed.
    const target = await make('steady', { update: { delay: '15s', monitor: '500ms' } });
    await target.deploy('1.0.0', call().ctx);
    await target.deploy('2.0.0', call().ctx);
    expect((await service('steady')).UpdateStatus?.State).toBe('updating');
    expect(await target.health(call().ctx)).toEqual({ healthy: true, ready: 1, total: 1 });
  });

  it('a version whose health check fails: Swarm pauses the update, the error says so, and revert puts the previous spec back', async () => {
    const target = await make('paused', {}, { replicas: 2 });
    await target.deploy('1.0.0', call().ctx);
    const err = await failure(target.deploy('bad', call().ctx));
    expect(err.message).toMatch(
      /^swarm target: Swarm paused the update of service paused to localhost:1\/app:bad: update paused due to failure or early termination of task \w+ \(UpdateConfig\.FailureAction pauses it when tasks fail\); see `docker service ps paused --no-trunc`; a rollback puts the previous spec back$/,
    );
    expect(err.retryable).toBe(false);
    const health = await target.health(call().ctx);
    expect(health.healthy).toBe(false);
    // How many old tasks Swarm stopped before it paused depends on timing: one or both still run.
    expect(health.message).toMatch(/^service paused: 0 of 2 tasks run localhost:1\/app:bad, [12] still on another image \(update paused: update paused due to failure/);
    const reverting = call();
    await target.revert({ version: '1.0.0' }, reverting.ctx);
    expect(reverting.changes).toEqual([{ object: 'service/paused', field: 'image', before: `${REPOSITORY}:bad`, after: `${REPOSITORY}:1.0.0` }]);
    expect(await target.health(call().ctx)).toEqual({ healthy: true, ready: 2, total: 2 });
  });

  it('failureAction rollback: Swarm rolls the update back itself, the error says so, and revert has nothing left to change', async () => {
    const target = await make('rolled', { update: { failureAction: 'rollback' } });
    await target.deploy('1.0.0', call().ctx);
    const err = await failure(target.deploy('bad', call().ctx));
    expect(err.message).toMatch(
      /^swarm target: Swarm rolled the update of service rolled to localhost:1\/app:bad back to localhost:1\/app:1\.0\.0: update rolled back due to failure or early termination of task \w+ \(its UpdateConfig\.FailureAction is rollback\); see `docker service ps rolled --no-trunc` for why its tasks failed$/,
    );
    const reverting = call();
    await target.revert({ version: '1.0.0' }, reverting.ctx);
    expect(reverting.changes).toEqual([]);
    // Every task has run 1.0.0 for the monitor period: Swarm may still be closing its rollback.
    expect(['rollback_started', 'rollback_completed']).toContain((await service('rolled')).UpdateStatus?.State);
    expect(await target.health(call().ctx)).toEqual({ healthy: true, ready: 1, total: 1 });
  });

  it('an update that does not settle within the timeout says how far it got', async () => {
    const states = new MemoryProviderStates();
    const target = await make('stuck', {}, { states });
    await target.deploy('1.0.0', call().ctx);
    const impatient = swarm.create(swarm.configSchema.parse({ type: 'swarm', service: 'stuck', interval: '100ms', timeout: '2s' }), fakeDeps({ workDir: dir }, { states, settings: { swarm: { host: proxy.host } } }));
    const err = await failure(impatient.deploy('slow', call().ctx));
    expect(err.message).toMatch(
      /^swarm target: service stuck did not settle on localhost:1\/app:slow within 2s \(service stuck: 0 of 1 tasks run localhost:1\/app:slow, 1 still on another image( \(update updating: update in progress\))?\); see `docker service ps stuck --no-trunc`; timeout waits longer$/,
    );
    await target.revert({ version: '1.0.0' }, call().ctx);
  });

  it('keeps images, never the task template, and undoes only what it set: an image someone else deployed since stays', async () => {
    const states = new MemoryProviderStates();
    // A service the user created; rollgate changes its image and one UpdateConfig field.
    await swarmd().api('POST', '/services/create', serviceSpec('shared', `${REPOSITORY}:1.0.0`, { portBase: swarmd().portBase }));
    const target = await make('shared', { update: { parallelism: 2 } }, { states });
    await target.deploy('2.0.0', call().ctx);
    // What the journal carries: no environment (a service's may hold secrets), no task template.
    const before = { Parallelism: 1, FailureAction: 'pause', Monitor: ms(500), MaxFailureRatio: 0, Order: 'start-first' };
    expect(states.snapshot()).toEqual({ provider: { images: { '1.0.0': `${REPOSITORY}:1.0.0` }, wrote: [`${REPOSITORY}:2.0.0`], updateConfig: before } });
    // Someone else's `docker service update`: Swarm's own UpdateStatus writes bump the version, so
    // a write can meet "update out of sequence" and is made again, as the CLI user would.
    const setImage = async (image: string) => {
      for (let attempt = 1; ; attempt++) {
        const now = await service('shared');
        const spec = structuredClone(now.Spec);
        spec.TaskTemplate!.ContainerSpec!.Image = image;
        const { status, body } = await swarmd().api('POST', `/services/${now.ID}/update?version=${now.Version.Index}`, spec);
        if (status === 200) return;
        if (attempt >= 20) throw new Error(`could not set ${image}: ${status} ${JSON.stringify(body)}`);
      }
    };
    await setImage('localhost:1/web:1.0.0');
    const err = await failure(target.revert({ version: '1.0.0' }, call().ctx));
    expect(err.message).toBe(
      `swarm target: service shared runs localhost:1/web:1.0.0, which rollgate did not set (it set ${REPOSITORY}:2.0.0): someone else deployed it since, so rollgate does not put ${REPOSITORY}:1.0.0 back over it; check it, and revert by hand if it should go`,
    );
    expect((await service('shared')).Spec.TaskTemplate?.ContainerSpec?.Image).toBe('localhost:1/web:1.0.0');
    // What rollgate set is undone, UpdateConfig included.
    await setImage(`${REPOSITORY}:2.0.0`);
    await target.revert({ version: '1.0.0' }, call().ctx);
    const after = await service('shared');
    expect(after.Spec.TaskTemplate?.ContainerSpec?.Image).toBe(`${REPOSITORY}:1.0.0`);
    expect(after.Spec.UpdateConfig).toEqual(before);
  });

  it('a write that meets a change made meanwhile is read again and made again, keeping the other change', async () => {
    const target = await make('raced');
    await target.deploy('1.0.0', call().ctx);
    proxy.beforeNext('POST', /\/services\/[^/]+\/update$/, async () => {
      const now = await service('raced');
      await swarmd().api('POST', `/services/${now.ID}/update?version=${now.Version.Index}`, { ...now.Spec, Labels: { ...now.Spec.Labels, owner: 'someone else' } });
    });
    const log = recorder();
    await target.deploy('2.0.0', call(log).ctx);
    expect(log.lines).toContain('swarm: service raced changed while rollgate wrote it (update out of sequence): reading it again (attempt 2 of 5)');
    const after = await service('raced');
    expect(after.Spec.Labels).toMatchObject({ owner: 'someone else' });
    expect(after.Spec.TaskTemplate?.ContainerSpec?.Image).toBe(`${REPOSITORY}:2.0.0`);
  });

  it('gives up after five conflicts in a row', async () => {
    const target = await make('contended');
    await target.deploy('1.0.0', call().ctx);
    for (let i = 0; i < 5; i++) proxy.failNext('POST', /\/services\/[^/]+\/update$/, 500, 'rpc error: code = Unknown desc = update out of sequence');
    const err = await failure(target.deploy('2.0.0', call().ctx));
    expect(err.message).toBe('swarm: cannot update service contended: it changed since rollgate read it (update out of sequence); read it again');
    expect(err.retryable).toBe(true);
  });

  it('says so when someone else changes the image, or removes the service, while rollgate waits', async () => {
    const target = await make('meddled');
    await target.deploy('1.0.0', call().ctx);
    proxy.beforeNext('GET', /\/tasks$/, async () => {
      const now = await service('meddled');
      const spec = structuredClone(now.Spec);
      spec.TaskTemplate!.ContainerSpec!.Image = `${REPOSITORY}:1.0.0`;
      await swarmd().api('POST', `/services/${now.ID}/update?version=${now.Version.Index}`, spec);
    });
    expect((await failure(target.deploy('slow', call().ctx))).message).toBe(
      `swarm target: service meddled was changed to ${REPOSITORY}:1.0.0 by someone else while rollgate waited for ${REPOSITORY}:slow`,
    );
    proxy.beforeNext('GET', /\/tasks$/, () => swarmd().api('DELETE', '/services/meddled'));
    expect((await failure(target.deploy('2.0.0', call().ctx))).message).toBe(`swarm target: service meddled was removed while rollgate waited for it to run ${REPOSITORY}:2.0.0`);
    expect((await failure(target.revert({ version: '1.0.0' }, call().ctx))).message).toBe(
      'swarm target: service meddled does not exist; it was removed after rollgate last saw it, so there is nothing to change',
    );
  });
});

describe('errors a user can meet', () => {
  it('undoing a first deploy waits until its tasks have stopped, and says so when they do not', async () => {
    // Its tasks ignore their stop signal: Swarm kills them only after the 30 s grace period. The
    // limit leaves the first deploy room on a loaded machine (4 s once failed there) and still ends before the grace period.
    const spec = serviceSpec('stubborn', `${REPOSITORY}:1.0.0`, { portBase: swarmd().portBase }) as { TaskTemplate: { ContainerSpec: Record<string, unknown> } };
    spec.TaskTemplate.ContainerSpec.StopSignal = 'SIGUSR1';
    spec.TaskTemplate.ContainerSpec.StopGracePeriod = ms(30_000);
    await writeFile(join(dir, 'stubborn.json'), JSON.stringify(spec));
    const target = swarm.create(swarm.configSchema.parse({ type: 'swarm', service: 'stubborn', spec: 'stubborn.json', interval: '100ms', timeout: '10s' }), fakeDeps({ workDir: dir }, { settings: { swarm: { host: proxy.host } } }));
    await target.deploy('1.0.0', call().ctx);
    const err = await failure(target.revert(undefined, call().ctx));
    expect(err.message).toBe('swarm target: 1 task(s) of removed service stubborn still run after 10s; see `docker ps` on its nodes');
  });


  it('a service that does not exist, with no spec to create it from', async () => {
    const target = swarm.create(swarm.configSchema.parse({ type: 'swarm', service: 'ghost' }), fakeDeps({}, { settings: { swarm: { host: proxy.host } } }));
    const err = await failure(target.deploy('2.0.0', call().ctx));
    expect(err.message).toBe(
      `swarm target: service ghost does not exist on the swarm at ${proxy.host}; create it first (docker service create / docker stack deploy), or give the target a spec to create it from on a first deploy`,
    );
    expect(err.retryable).toBe(false);
    expect(await target.current(call().ctx)).toBeUndefined();
    expect(await target.health(call().ctx)).toEqual({ healthy: false, ready: 0, total: 0, message: 'service ghost does not exist' });
    expect((await failure(target.candidates!.deployCandidate('2.0.0', 1, call().ctx))).message).toBe(
      'swarm target: service ghost does not exist, so there is nothing to run a candidate beside; create it first, or give the target a spec',
    );
    expect((await failure(target.candidates!.scale({ stable: 1, candidate: 1 }, call().ctx))).message).toBe(
      'swarm target: candidate service ghost-candidate does not exist; start it before scaling it',
    );
  });

  it('the daemon socket is gone: the error names the service and the socket, and says to start the daemon', async () => {
    const target = await make('nosocket', {}, { host: 'unix:///tmp/rgsw-nowhere/docker.sock' });
    const err = await failure(target.deploy('1.0.0', call().ctx));
    expect(err.message).toBe(
      'swarm: cannot read service nosocket: there is no socket at /tmp/rgsw-nowhere/docker.sock: the Docker daemon is not running there; start it, or point swarm.host (or DOCKER_HOST) at its socket',
    );
    expect(err.retryable).toBe(false);
  });

  it('a spec file that cannot be read, or is no service spec', async () => {
    const unreadable = swarm.create(swarm.configSchema.parse({ type: 'swarm', service: 'specless', spec: 'missing.json' }), fakeDeps({ workDir: dir }, { settings: { swarm: { host: proxy.host } } }));
    expect((await failure(unreadable.deploy('1.0.0', call().ctx))).message).toMatch(new RegExp(`^swarm target: cannot read the service spec ${dir}/missing.json: ENOENT`));
    await writeFile(join(dir, 'list.yaml'), '- not\n- a spec\n');
    const wrong = swarm.create(swarm.configSchema.parse({ type: 'swarm', service: 'specless', spec: 'list.yaml' }), fakeDeps({ workDir: dir }, { settings: { swarm: { host: proxy.host } } }));
    expect((await failure(wrong.deploy('1.0.0', call().ctx))).message).toBe(
      `swarm target: the service spec ${dir}/list.yaml has no TaskTemplate.ContainerSpec: write it as the Docker Engine API's ServiceSpec (as \`docker service inspect --format '{{json .Spec}}'\` prints it)`,
    );
  });

  it('the config refuses what is no service name', () => {
    const parsed = swarm.configSchema.safeParse({ type: 'swarm', service: 'web/api' });
    expect(parsed.error?.issues[0]?.message).toBe('expected a Swarm service name (letters, digits, _, . and -; at most 63)');
  });
});

describe('candidates', () => {
  it('the candidate carries the labels, publishes none of the stable ports, and scale says the share is approximated by replicas', async () => {
    const name = 'edge';
    // A port published on the node itself: a second service asking for it could not be placed there.
    const ports = [{ Protocol: 'tcp', TargetPort: 30080, PublishedPort: 30080, PublishMode: 'host' }];
    const spec = { ...serviceSpec(name, `${REPOSITORY}:1.0.0`, { portBase: swarmd().portBase, replicas: 1 }), EndpointSpec: { Mode: 'dnsrr', Ports: ports } };
    await writeFile(join(dir, 'edge.json'), JSON.stringify(spec));
    const target = swarm.create(swarm.configSchema.parse({ type: 'swarm', service: name, spec: 'edge.json', interval: '100ms' }), fakeDeps({ workDir: dir }, { settings: { swarm: { host: proxy.host } } }));
    await target.deploy('1.0.0', call().ctx);
    const log = recorder();
    await target.candidates!.deployCandidate('2.0.0', 1, call(log).ctx);
    expect(log.lines).toContain('swarm: candidate service edge-candidate publishes no ports: those of service edge stay with it');
    const candidate = await service('edge-candidate');
    expect(candidate.Spec.Labels).toEqual({ 'rollgate.test': 'swarm', 'rollgate.io/track': 'candidate', 'rollgate.io/candidate-of': 'edge' });
    expect(candidate.Spec.TaskTemplate?.ContainerSpec?.Labels).toEqual({ 'rollgate.io/track': 'candidate' });
    expect(candidate.Spec.EndpointSpec?.Ports ?? []).toEqual([]);
    await target.candidates!.scale({ stable: 0, candidate: 1 }, call(log).ctx);
    expect(log.lines).toContain("swarm: no traffic router: the candidate's share of traffic is approximated by replicas, 1 of edge-candidate beside 0 of edge (100%)");
    expect((await service('edge')).Spec.Mode?.Replicated?.Replicas).toBe(0);
    expect(await target.candidates!.candidateHealth(call().ctx)).toEqual({ healthy: true, ready: 1, total: 1 });
    expect(await target.candidates!.fullScale(call().ctx)).toBe(1);
    await target.candidates!.removeCandidate(call().ctx);
    expect((await service('edge')).Spec.Mode?.Replicated?.Replicas).toBe(1);
    expect(await target.candidates!.candidateHealth(call().ctx)).toEqual({ healthy: false, ready: 0, total: 0, message: 'service edge-candidate does not exist' });
  });

  it('a canary as the first deploy: promote creates the service from the spec file with the candidate\'s image, and an undo removes it', async () => {
    const states = new MemoryProviderStates();
    const target = await make('fresh', {}, { states });
    await target.candidates!.deployCandidate('2.0.0', 1, call().ctx);
    const promoting = call();
    await target.candidates!.promote(promoting.ctx);
    expect(promoting.changes).toEqual([
      { object: 'service/fresh', field: 'created', before: null, after: `${REPOSITORY}:2.0.0` },
      { object: 'service/fresh-candidate', field: 'created', before: `${REPOSITORY}:2.0.0`, after: null },
    ]);
    expect(await target.current(call().ctx)).toMatchObject({ version: '2.0.0' });
    const later = swarm.create(swarm.configSchema.parse({ type: 'swarm', service: 'fresh', interval: '100ms' }), fakeDeps({ workDir: dir }, { states: states.reopen(), settings: { swarm: { host: proxy.host } } }));
    await later.revert(undefined, call().ctx);
    expect((await swarmd().api('GET', '/services/fresh')).status).toBe(404);
  });

  it('a stable service someone scaled during the canary keeps their count when the candidate goes', async () => {
    const target = await make('scaled', {}, { replicas: 2 });
    await target.deploy('1.0.0', call().ctx);
    await target.candidates!.deployCandidate('2.0.0', 1, call().ctx);
    await target.candidates!.scale({ stable: 1, candidate: 1 }, call().ctx);
    // Someone's `docker service scale`, made again if Swarm's own status writes moved the version.
    for (let attempt = 1; ; attempt++) {
      const now = await service('scaled');
      const { status } = await swarmd().api('POST', `/services/${now.ID}/update?version=${now.Version.Index}`, { ...now.Spec, Mode: { Replicated: { Replicas: 3 } } });
      if (status === 200) break;
      if (attempt >= 20) throw new Error(`could not scale the service: ${status}`);
    }
    const log = recorder();
    const removing = call(log);
    await target.candidates!.removeCandidate(removing.ctx);
    expect(log.lines).toContain('warn: swarm: service scaled has 3 replicas, not the 1 rollgate set: someone scaled it meanwhile, so its count stands (it had 2 before the canary)');
    expect(removing.changes.map((c) => c.field)).toEqual(['created']);
    expect((await service('scaled')).Spec.Mode?.Replicated?.Replicas).toBe(3);
  });

  it('a global service keeps one task per node: scale leaves it and says so', async () => {
    const name = 'everywhere';
    await writeFile(join(dir, 'everywhere.json'), JSON.stringify({ ...serviceSpec(name, `${REPOSITORY}:1.0.0`, { portBase: swarmd().portBase }), Mode: { Global: {} } }));
    const target: Target = swarm.create(swarm.configSchema.parse({ type: 'swarm', service: name, spec: 'everywhere.json', interval: '100ms' }), fakeDeps({ workDir: dir }, { settings: { swarm: { host: proxy.host } } }));
    await target.deploy('1.0.0', call().ctx);
    expect(await target.current(call().ctx)).toMatchObject({ details: { replicas: 'global' } });
    expect(await target.health(call().ctx)).toEqual({ healthy: true, ready: 1, total: 1 });
    const log = recorder();
    await target.candidates!.deployCandidate('2.0.0', 1, call().ctx);
    await target.candidates!.scale({ stable: 0, candidate: 1 }, call(log).ctx);
    expect(log.lines).toContain('warn: swarm: service everywhere is global (one task per node): its replicas are left as they are, only everywhere-candidate is scaled to 1');
    await target.candidates!.promote(call().ctx);
    expect((await service('everywhere')).Spec.Mode).toEqual({ Global: {} });
    expect(await target.current(call().ctx)).toMatchObject({ version: '2.0.0' });
  });
});
