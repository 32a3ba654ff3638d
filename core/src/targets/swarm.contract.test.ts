import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, vi } from 'vitest';
import { useSwarm } from '../../../tests/real/swarm/daemon.js';
import { type FaultProxy, startFaultProxy } from '../../../tests/real/swarm/fault-proxy.js';
import { serviceSpec } from '../../../tests/real/swarm/images.js';
import { describeTargetContract, type TargetOperation } from '../testing/contracts/target.js';
import { fakeDeps } from '../testing/fakes.js';
import * as swarm from './swarm.js';

/*
 * The whole Target contract, candidates included, against a real Docker Swarm (Debian's docker.io
 * daemon, started for this file; a missing one fails it). Every check gets a service of its own,
 * created by the target from a spec file on its first deploy, with two replicas updated together.
 * Each rollout waits for real tasks: a container started, its health check passed, Swarm's
 * monitor period over. Some 2 s per rollout, and the 23 checks take 65 to 80 s on two CPUs,
 * fast enough to run them all rather than a subset.
 *
 * Transient faults are the daemon's own 503 answer, given by a socket in front of it to the one
 * request the faulted call makes. `health` makes no request a deploy does not make too, so its
 * fault check is skipped; its errors are `current`'s. Version `slow` is an image whose health
 * check never answers.
 */

vi.setConfig({ testTimeout: 120_000 });

let v1 = '';
let proxy: FaultProxy;
const swarmd = useSwarm(async (daemon) => {
  [v1] = await Promise.all([daemon.image('1.0.0'), daemon.image('2.0.0'), daemon.image('slow', 'slow')]);
});
beforeAll(async () => {
  proxy = await startFaultProxy(swarmd().socket);
});
afterAll(() => proxy?.close());

let checks = 0;

describeTargetContract('swarm', swarm, async () => {
  const daemon = swarmd();
  checks += 1;
  const name = `web${checks}`;
  const candidate = `${name}-candidate`;
  const dir = await mkdtemp('/tmp/rgsw-contract-');
  await writeFile(join(dir, 'web.json'), JSON.stringify(serviceSpec(name, v1, { portBase: daemon.portBase, replicas: 2, update: { Parallelism: 2 } })));
  const config = swarm.configSchema.parse({ type: 'swarm', service: name, spec: 'web.json', interval: '100ms', timeout: '1m' });
  const faults: Partial<Record<TargetOperation, [string, RegExp]>> = {
    current: ['GET', new RegExp(`/services/${name}$`)],
    deploy: ['GET', new RegExp(`/services/${name}$`)],
    revert: ['DELETE', new RegExp(`/services/${name}$`)],
    deployCandidate: ['GET', new RegExp(`/services/${candidate}$`)],
    removeCandidate: ['DELETE', new RegExp(`/services/${candidate}$`)],
  };
  return {
    deps: (states) => fakeDeps({ workDir: dir }, { states, settings: { swarm: { host: proxy.host } } }),
    create: (deps) => swarm.create(config, deps),
    versions: ['1.0.0', '2.0.0'],
    slowVersion: 'slow',
    /** The two services as the daemon has them: image, replicas and labels. */
    async observe() {
      const { body } = await daemon.api<Array<{ Spec: { Name: string; Labels?: Record<string, string>; Mode: { Replicated?: { Replicas?: number } }; TaskTemplate: { ContainerSpec: { Image: string } } } }>>(
        'GET',
        `/services?filters=${encodeURIComponent(JSON.stringify({ name: [name] }))}`,
      );
      return body
        .filter((s) => s.Spec.Name === name || s.Spec.Name === candidate)
        .map((s) => ({ name: s.Spec.Name, image: s.Spec.TaskTemplate.ContainerSpec.Image, replicas: s.Spec.Mode.Replicated?.Replicas, labels: s.Spec.Labels }))
        .sort((a, b) => a.name.localeCompare(b.name));
    },
    injectFault(operation) {
      const fault = faults[operation];
      if (!fault) return false;
      proxy.failNext(fault[0], fault[1]);
      return true;
    },
    async cleanup() {
      await Promise.all([daemon.api('DELETE', `/services/${name}`), daemon.api('DELETE', `/services/${candidate}`)]);
      await rm(dir, { recursive: true, force: true });
    },
  };
});
