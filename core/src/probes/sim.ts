import { z } from 'zod';
import { worldOf } from '../sim/access.js';
import { duration } from '../config/fields.js';
import { errorMessage } from '../errors.js';
import type { ProbeResult } from '../model/results.js';
import type { Probe } from '../ports/probe.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { SimWorld } from '../sim/world.js';

export const type = 'sim';

/** Everything happens in the simulated world, on the run's clock. */
export const virtualTime = true;

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    measure: z
      .enum(['free-capacity', 'nodes-ready', 'error-rate', 'latency-p99', 'version', 'candidate-version', 'database', 'schema-version'])
      .describe('What to read from the simulated infrastructure'),
    service: z.string().optional().describe('Service for error-rate, latency-p99, version and candidate-version (default: the stage name)'),
    timeout: duration('Give up on this probe after this long (the whole snapshot stops at 4.9s, so a state check ends within 5s)').prefault('2s'),
  })
  .describe('Reads the simulated infrastructure');
export type SimProbeConfig = z.infer<typeof configSchema>;

type Measured = Omit<ProbeResult, 'latencyMs'>;

/**
 * `ok` says whether the thing is fine where that has a natural meaning (database: up; nodes-ready:
 * every node ready) and whether the measurement worked otherwise; `value` carries the reading.
 */
function measure(config: SimProbeConfig, world: SimWorld, service: string): Measured {
  switch (config.measure) {
    case 'free-capacity': {
      const c = world.capacity();
      return { ok: true, value: Math.max(0, c.free), details: { total: c.total, used: c.used } };
    }
    case 'nodes-ready': {
      const n = world.nodes(5);
      const missing = n.total - n.ready;
      const details = { total: n.total, down: missing };
      if (missing === 0) return { ok: true, value: n.ready, details };
      const more = missing > n.down.length ? ', …' : '';
      return { ok: false, value: n.ready, error: `${missing} of ${n.total} nodes not ready: ${n.down.join(', ')}${more}`, details };
    }
    case 'error-rate':
    case 'latency-p99': {
      const value = config.measure === 'error-rate' ? world.errorRate(service) : world.latencyP99(service);
      if (value === undefined) return { ok: false, value: null, error: `sim: ${service} serves no traffic (nothing deployed or every replica down)`, details: { service } };
      return { ok: true, value, details: { service } };
    }
    case 'version':
    case 'candidate-version': {
      // `version` is the stable version; `candidate-version` the one running beside it (null when none).
      const svc = world.service(service);
      const candidate = svc?.candidate;
      return {
        ok: true,
        value: (config.measure === 'version' ? svc?.version : candidate?.version) ?? null,
        details: {
          service,
          replicas: svc?.replicas ?? 0,
          candidate: candidate?.version ?? null,
          candidateReplicas: candidate?.replicas ?? 0,
          canaryWeight: world.weight(service),
        },
      };
    }
    case 'database': {
      const db = world.database();
      return db.up
        ? { ok: true, value: 'up', details: { schemaVersion: db.schemaVersion } }
        : { ok: false, value: 'down', error: 'sim: database is down', details: { schemaVersion: db.schemaVersion } };
    }
    case 'schema-version': {
      const db = world.database();
      return db.up ? { ok: true, value: db.schemaVersion } : { ok: false, value: null, error: 'sim: database is down: cannot read the schema version' };
    }
  }
}

/**
 * Reads the environment's simulated world. Never throws: injected api-errors and partitions, a
 * `slow-probe` delay longer than `timeout`, and cancellation all come back as `ok: false`.
 * `slow-probe.probe` matches the step name the engine passes in the context or the `measure`.
 */
export function create(config: SimProbeConfig, deps: ProviderDeps): Probe {
  return {
    type,
    async check(ctx) {
      const started = ctx.clock.now();
      const done = (r: Measured): ProbeResult => ({ ...r, latencyMs: ctx.clock.now() - started });
      try {
        const world = worldOf(deps);
        const service = config.service ?? ctx.stage;
        const delay = world.probeDelay(ctx.step.replace(/^probe-/, ''), config.measure);
        if (delay > 0) {
          await ctx.clock.sleep(Math.min(delay, config.timeout), ctx.signal);
          if (delay > config.timeout) return done({ ok: false, value: null, error: `sim: probe ${config.measure} timed out after ${config.timeout}ms` });
        }
        world.guard('probe', config.measure);
        return done(measure(config, world, service));
      } catch (err) {
        const error = ctx.signal.aborted ? `sim: probe ${config.measure} stopped: ${errorMessage(ctx.signal.reason)}` : errorMessage(err);
        return done({ ok: false, value: null, error });
      }
    },
  };
}
