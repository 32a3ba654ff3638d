import { z } from 'zod';

/**
 * Docker Swarm as a provider family: which Docker daemon (a swarm manager) an environment's swarm
 * target and probes talk to, written once at the top of the workflow (`swarm:`) or per
 * environment (`environments.NAME.swarm`, which replaces it).
 */
export const name = 'swarm';

export const settingsSchema = z
  .strictObject({
    host: z
      .string()
      .regex(/^(unix:\/\/\/.+|tcp:\/\/[^/]+\/?)$/, 'expected unix:///path/to/docker.sock or tcp://host:port')
      .optional()
      .describe(
        "The Docker daemon of a swarm manager: unix:///var/run/docker.sock, or tcp://host:2375 (plain HTTP: only on a trusted network). Default: DOCKER_HOST of the runner's environment, else unix:///var/run/docker.sock",
      ),
  })
  .describe('How rollgate reaches the Docker daemon of a swarm manager (its socket)');
export type SwarmSettings = z.output<typeof settingsSchema>;

/** The settings of an environment, defaults applied when the workflow has no `swarm` block. */
export function settingsOf(raw: unknown): SwarmSettings {
  return (raw as SwarmSettings | undefined) ?? settingsSchema.parse({});
}
