import { describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { dockerClient, endpointOf } from './endpoint.js';
import { settingsSchema } from './family.js';

describe('which Docker daemon the swarm providers talk to', () => {
  it('is swarm.host when the workflow gives one, whatever DOCKER_HOST says', () => {
    expect(endpointOf('unix:///run/user/1000/docker.sock', { DOCKER_HOST: 'tcp://elsewhere:2375' })).toEqual({
      socketPath: '/run/user/1000/docker.sock',
      label: 'unix:///run/user/1000/docker.sock',
    });
  });

  it("is DOCKER_HOST of the runner's environment without swarm.host, else the default socket", () => {
    expect(endpointOf(undefined, { DOCKER_HOST: 'unix:///tmp/d.sock' })).toMatchObject({ socketPath: '/tmp/d.sock' });
    expect(endpointOf(undefined, { DOCKER_HOST: '' })).toMatchObject({ socketPath: '/var/run/docker.sock' });
    expect(endpointOf(undefined, {})).toEqual({ socketPath: '/var/run/docker.sock', label: 'unix:///var/run/docker.sock' });
  });

  it('speaks plain HTTP to tcp://host:port (2375 without a port), and never shows user information of the address', () => {
    expect(endpointOf('tcp://10.0.0.5:2376', {})).toEqual({ host: '10.0.0.5', port: 2376, label: 'tcp://10.0.0.5:2376' });
    expect(endpointOf(undefined, { DOCKER_HOST: 'tcp://ops:s3cret@manager.internal' })).toEqual({ host: 'manager.internal', port: 2375, label: 'tcp://manager.internal' });
    expect(endpointOf('tcp://[::1]:2375', {})).toMatchObject({ host: '::1', port: 2375 });
  });

  it('refuses what it cannot speak, saying what to use instead', () => {
    const refused = (host: string | undefined, env: Record<string, string> = {}) => {
      try {
        endpointOf(host, env);
      } catch (err) {
        expect(err).toBeInstanceOf(ProviderError);
        expect((err as ProviderError).retryable).toBe(false);
        return (err as Error).message;
      }
      throw new Error('expected a refusal');
    };
    expect(refused(undefined, { DOCKER_HOST: 'ssh://deploy@manager' })).toBe(
      'swarm: DOCKER_HOST uses ssh, which rollgate cannot speak; give swarm.host a unix:///path/to/docker.sock (an ssh:// daemon can be reached with `ssh -L /tmp/docker.sock:/var/run/docker.sock HOST`) or a tcp://host:port',
    );
    expect(refused(undefined, { DOCKER_HOST: 'tcp://manager:2376', DOCKER_TLS_VERIFY: '1' })).toMatch(/^swarm: DOCKER_TLS_VERIFY is set, and rollgate speaks to a Docker daemon without TLS only: use the manager's unix socket/);
    expect(refused('unix://docker.sock')).toBe("swarm: swarm.host 'unix://docker.sock' names no absolute socket path; write unix:///path/to/docker.sock");
    expect(refused(undefined, { DOCKER_HOST: 'tcp://bad host:1' })).toBe('swarm: DOCKER_HOST is not a tcp://host:port address');
    expect(refused(undefined, { DOCKER_HOST: 'npipe:////./pipe/docker_engine' })).toMatch(/^swarm: DOCKER_HOST uses npipe, which rollgate cannot speak/);
  });

  it('the workflow schema takes unix and tcp addresses only', () => {
    expect(settingsSchema.safeParse({ host: 'unix:///var/run/docker.sock' }).success).toBe(true);
    expect(settingsSchema.safeParse({ host: 'tcp://manager:2375' }).success).toBe(true);
    const bad = settingsSchema.safeParse({ host: 'ssh://manager' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toBe('expected unix:///path/to/docker.sock or tcp://host:port');
  });

  it("reads DOCKER_HOST from the step's environment, once per provider, and from the environment's settings first", () => {
    const client = dockerClient(fakeDeps());
    expect(client(fakeStepContext({ env: { DOCKER_HOST: 'unix:///a.sock' } })).endpoint.label).toBe('unix:///a.sock');
    expect(client(fakeStepContext({ env: { DOCKER_HOST: 'unix:///b.sock' } })).endpoint.label).toBe('unix:///a.sock');
    const configured = dockerClient(fakeDeps({}, { settings: { swarm: { host: 'unix:///c.sock' } } }));
    expect(configured(fakeStepContext({ env: { DOCKER_HOST: 'unix:///a.sock' } })).endpoint.label).toBe('unix:///c.sock');
  });
});
