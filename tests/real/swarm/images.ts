/*
 * What the test images hold beside busybox: `/serve` (the command), `/health` (the health check
 * the services run) and the page `/www/index.html`, which is the image's tag, so a request tells
 * which version answered.
 *
 * `/serve` runs busybox httpd on the first free port from PORT_BASE (a task's environment) on
 * 127.0.0.1, and notes it in /tmp/port for `/health`; it stops at once on SIGTERM, as a real
 * server does (a shell as PID 1 would otherwise ignore it, and each stop would cost the whole
 * grace period).
 */

/**
 * `good` serves and is healthy; `bad` serves but its health check fails, so its tasks never run
 * (a version whose health check fails); `slow` serves but its health check never answers, so its
 * tasks stay `starting` for the health check's whole timeout.
 */
export type ImageKind = 'good' | 'bad' | 'slow';

const SERVE = `#!/bin/sh
trap 'kill $pid 2>/dev/null; exit 0' TERM INT
base=\${PORT_BASE:-18100}
i=0
while [ $i -lt 40 ]; do
  echo $((base+i)) > /tmp/port
  /bin/busybox httpd -f -p 127.0.0.1:$((base+i)) -h /www &
  pid=$!
  wait $pid
  i=$((i+1))
done
exit 1
`;

const HEALTH: Record<ImageKind, string> = {
  good: '#!/bin/sh\nexec /bin/busybox wget -q -O /dev/null http://127.0.0.1:$(cat /tmp/port)/\n',
  bad: '#!/bin/sh\necho "this version is broken" >&2\nexit 1\n',
  slow: '#!/bin/sh\nexec /bin/busybox sleep 3600\n',
};

export function IMAGE_FILES(tag: string, kind: ImageKind): Record<string, string> {
  return { serve: SERVE, health: HEALTH[kind], 'www/index.html': `${tag}\n` };
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
