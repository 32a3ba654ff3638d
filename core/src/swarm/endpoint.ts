import { ProviderError } from '../errors.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import { DockerClient, type DockerEndpoint } from './client.js';
import { settingsOf } from './family.js';

/** Where the Docker CLI looks when DOCKER_HOST is not set. */
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/**
 * The daemon a workflow's swarm settings name, else the one DOCKER_HOST of the runner's
 * environment names (as the Docker CLI reads it), else the default socket. Throws a
 * ProviderError for an address rollgate cannot speak to (ssh://, TLS), saying what to use.
 */
export function endpointOf(host: string | undefined, env: Record<string, string>): DockerEndpoint {
  const fromEnv = host === undefined && env.DOCKER_HOST !== undefined && env.DOCKER_HOST !== '';
  const address = host ?? (fromEnv ? (env.DOCKER_HOST as string) : DEFAULT_DOCKER_HOST);
  const source = host !== undefined ? 'swarm.host' : fromEnv ? 'DOCKER_HOST' : 'the default';
  if (address.startsWith('unix://')) {
    const socketPath = address.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw new ProviderError(`swarm: ${source} '${address}' names no absolute socket path; write unix:///path/to/docker.sock`);
    return { socketPath, label: address };
  }
  if (address.startsWith('tcp://')) {
    let url: URL;
    try {
      url = new URL(address.replace(/^tcp:/, 'http:'));
    } catch {
      throw new ProviderError(`swarm: ${source} is not a tcp://host:port address`);
    }
    if (env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== '' && host === undefined) {
      throw new ProviderError(
        `swarm: DOCKER_TLS_VERIFY is set, and rollgate speaks to a Docker daemon without TLS only: use the manager's unix socket (on the manager, or forwarded with \`ssh -L /tmp/docker.sock:/var/run/docker.sock\`) in swarm.host`,
      );
    }
    // The label never carries user information an address may hold.
    return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 2375), label: `tcp://${url.host}` };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(address)?.[1] ?? address;
  throw new ProviderError(
    `swarm: ${source} uses ${scheme}, which rollgate cannot speak; give swarm.host a unix:///path/to/docker.sock (an ssh:// daemon can be reached with \`ssh -L /tmp/docker.sock:/var/run/docker.sock HOST\`) or a tcp://host:port`,
  );
}

/**
 * The Docker client of one provider, made at its first call (the runner's environment is read
 * from the step then) and kept; a failed attempt is not kept, so a later call tries again.
 */
export function dockerClient(deps: ProviderDeps): (ctx: StepContext) => DockerClient {
  let client: DockerClient | undefined;
  return (ctx) => (client ??= new DockerClient(endpointOf(settingsOf(deps.settings('swarm')).host, ctx.env)));
}
