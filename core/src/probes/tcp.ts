import { z } from 'zod';
import { duration } from '../config/fields.js';
import type { Probe } from '../ports/probe.js';
import { connect } from 'node:net';
import type { ProbeResult } from '../model/results.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import { formatLimit } from '../util/command-runner.js';

export const type = 'tcp';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    timeout: duration('Give up on this probe after this long (the whole snapshot stops at 4.9s, so a state check ends within 5s)').prefault('2s'),
  })
  .describe('Opens a TCP connection; ok when it connects');
export type TcpProbeConfig = z.infer<typeof configSchema>;

export function create(config: TcpProbeConfig, _deps: ProviderDeps): Probe {
  const where = `${config.host}:${config.port}`;
  return {
    type,
    check(ctx): Promise<ProbeResult> {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      return new Promise<ProbeResult>((resolve) => {
        if (ctx.signal.aborted) {
          resolve({ ok: false, value: null, latencyMs: 0, error: `cancelled before connecting to ${where}` });
          return;
        }
        let done = false;
        const socket = connect({ host: config.host, port: config.port });
        const finish = (result: ProbeResult) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          ctx.signal.removeEventListener('abort', onAbort);
          socket.destroy();
          resolve(result);
        };
        const fail = (error: string) => finish({ ok: false, value: null, latencyMs: elapsed(), error });
        const timer = setTimeout(() => fail(`no connection to ${where} within ${formatLimit(config.timeout)}`), config.timeout);
        const onAbort = () => fail(`cancelled while connecting to ${where}`);
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        socket.once('connect', () => {
          const latencyMs = elapsed();
          finish({ ok: true, value: latencyMs, latencyMs });
        });
        socket.once('error', (err: NodeJS.ErrnoException) => fail(describeSocketError(err, where)));
      });
    },
  };
}

export function describeSocketError(err: NodeJS.ErrnoException, where: string): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return `connection refused by ${where} (nothing listens there)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve host of ${where} (${err.code})`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${where} is unreachable (${err.code})`;
    case 'ECONNRESET':
      return `connection to ${where} was reset`;
    default:
      return `cannot connect to ${where}: ${err.message}`;
  }
}
