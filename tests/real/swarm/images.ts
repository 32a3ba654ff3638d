import { fileURLToPath } from 'node:url';

/*
 * What the test images hold beside busybox: `/serve` (the command), `/health` (the health check
 * the services run) and the page `/www/index.html`, which is the image's tag, so a request tells
 * which version answered. The scripts are the files of rootfs/.
 */

/**
 * `good` serves and is healthy; `bad` serves but its health check fails, so its tasks never run
 * (a version whose health check fails); `slow` serves but its health check never answers, so its
 * tasks stay `starting` for the health check's whole timeout.
 */
export type ImageKind = 'good' | 'bad' | 'slow';

const ROOTFS = fileURLToPath(new URL('./rootfs/', import.meta.url));

/** Each file of an image of `tag` and `kind`: its path in the image, and the file it is copied from (or its text). */
export function imageFiles(tag: string, kind: ImageKind): Record<string, { from: string } | { text: string }> {
  return { serve: { from: `${ROOTFS}serve` }, health: { from: `${ROOTFS}health-${kind}` }, 'www/index.html': { text: `${tag}\n` } };
}

/** Nanoseconds, as the Engine API counts durations. */
export const ms = (n: number) => n * 1_000_000;

export interface SpecOptions {
  replicas?: number;
  portBase: number;
  /** How often the health check runs (default 250 ms). */
  healthIntervalMs?: number;
  update?: Record<string, unknown>;
}

/**
 * A service spec as a user would write it for these images: host network, the health check, a
 * short stop grace period, and an UpdateConfig that starts each new task before its old one stops.
 */
export function serviceSpec(name: string, image: string, options: SpecOptions): Record<string, unknown> {
  return {
    Name: name,
    Labels: { 'rollgate.test': 'swarm' },
    TaskTemplate: {
      ContainerSpec: {
        Image: image,
        Env: [`PORT_BASE=${options.portBase}`],
        Healthcheck: { Test: ['CMD-SHELL', '/bin/sh /health'], Interval: ms(options.healthIntervalMs ?? 250), Timeout: ms(30_000), Retries: 2, StartPeriod: 0 },
        StopGracePeriod: ms(2000),
      },
      Networks: [{ Target: 'host' }],
      RestartPolicy: { Condition: 'any', Delay: ms(500), MaxAttempts: 0 },
    },
    Mode: { Replicated: { Replicas: options.replicas ?? 1 } },
    EndpointSpec: { Mode: 'dnsrr' },
    UpdateConfig: { Parallelism: 1, Delay: 0, FailureAction: 'pause', Monitor: ms(500), MaxFailureRatio: 0, Order: 'start-first', ...options.update },
  };
}
