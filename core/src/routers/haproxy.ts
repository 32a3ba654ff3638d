import { z } from 'zod';
import { duration } from '../config/fields.js';
import { CancelledError, ProviderError } from '../errors.js';
import type { Weights } from '../model/results.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import type { TrafficRouter } from '../ports/traffic-router.js';
import { runtimeApi } from './haproxy/runtime-api.js';
import { effectiveWeight, parseInfo, parseServersState, sameProcess, type ProcessIdentity, type ServerState } from './haproxy/servers-state.js';
import { listOf, serverWeights, shareOf } from './nginx/weights.js';

export const type = 'haproxy';

const servers = (version: string) =>
  z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).describe(`Name of the server (or servers) of the backend playing the ${version} version, as in haproxy.cfg`);

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    socket: z
      .string()
      .min(1)
      .describe('The admin socket: a unix socket path (relative to the workflow file) or host:port, declared `stats socket … level admin` in haproxy.cfg'),
    backend: z.string().min(1).describe('The backend whose server weights carry the split'),
    stable: servers('stable'),
    canary: servers('new'),
    timeout: duration('Time limit for each Runtime API command').prefault('5s'),
  })
  .refine((c) => !listOf(c.canary).some((s) => listOf(c.stable).includes(s)), { message: 'a server cannot be both stable and canary', path: ['canary'] })
  .describe("Splits traffic by the server weights of an HAProxy backend, through the Runtime API (no reload); re-applies weights a reload lost");
export type HaproxyRouterConfig = z.infer<typeof configSchema>;
type Config = HaproxyRouterConfig;

/** HAProxy's largest absolute server weight. */
const MAX_WEIGHT = 256;

/**
 * The router's state: the servers as they were before its first change, and what it set last, in
 * which HAProxy process (runtime changes die with the process: a reload or restart loses them).
 */
interface Kept {
  found: Record<string, ServerState>;
  applied?: { canary: number; weights: Record<string, number>; process: ProcessIdentity };
}

/** A look at HAProxy: which process answers, and the backend's servers that rollgate routes. */
interface Look {
  process: ProcessIdentity;
  servers: Map<string, ServerState>;
}

/**
 * An HAProxy backend whose server weights carry the split: `canary` % goes to the canary servers,
 * set with `set weight` over the Runtime API (a server that gets traffic is made `ready` first;
 * weights are raised before others drop to 0, so some server always takes new connections), then
 * read back with `show servers state`. Runtime changes do not survive a reload: setWeights puts
 * them back, and getWeights reports the loss. `finalize` restores each server's weight and state
 * as found on first touch.
 */
export function create(config: Config, deps: ProviderDeps): TrafficRouter {
  const api = runtimeApi(config.socket, deps.workDir, config.timeout);
  const stable = listOf(config.stable);
  const canary = listOf(config.canary);
  const names = [...stable, ...canary];
  const object = `haproxy-backend/${config.backend}`;

  async function send(command: string, ctx: StepContext): Promise<string> {
    return api.send(command, ctx.signal);
  }

  async function look(ctx: StepContext): Promise<Look> {
    const process = parseInfo(await send('show info', ctx), api.socket, Date.now());
    const all = parseServersState(await send(`show servers state ${config.backend}`, ctx), config.backend, api.socket);
    const unknown = names.filter((n) => !all.has(n));
    if (unknown.length > 0) {
      throw new ProviderError(
        `haproxy router: backend ${config.backend} of HAProxy at ${api.socket} has no server ${unknown.join(', ')} (it has ${[...all.keys()].join(', ') || 'none'}); check \`stable\` and \`canary\``,
      );
    }
    return { process, servers: new Map(names.map((n) => [n, all.get(n) as ServerState])) };
  }

  function shareIn(servers: ReadonlyMap<string, ServerState>): number | undefined {
    const sum = (group: string[]) => group.reduce((total, n) => total + effectiveWeight(servers.get(n) as ServerState), 0);
    return shareOf({ stable: sum(stable), canary: sum(canary) });
  }

  /** The commands that bring `servers` to `wanted`, those that give traffic before those that take it away. */
  function commandsFor(servers: ReadonlyMap<string, ServerState>, wanted: ReadonlyMap<string, ServerState>): string[] {
    const raise: string[] = [];
    const lower: string[] = [];
    for (const [name, want] of wanted) {
      const now = servers.get(name) as ServerState;
      const list = effectiveWeight(want) > 0 ? raise : lower;
      const server = `${config.backend}/${name}`;
      // Weight first when giving traffic (a server made ready takes its weight at once), state first when taking it.
      const weight = now.weight !== want.weight ? [`set weight ${server} ${want.weight}`] : [];
      const state = now.admin !== want.admin ? [`set server ${server} state ${want.admin}`] : [];
      list.push(...(list === raise ? [...weight, ...state] : [...state, ...weight]));
    }
    return [...raise, ...lower];
  }

  /** Runs `commands`, then checks with `show servers state` that HAProxy holds `wanted`. */
  async function apply(commands: string[], wanted: ReadonlyMap<string, ServerState>, ctx: StepContext): Promise<Look> {
    for (const command of commands) {
      const answer = (await send(command, ctx)).trim();
      if (answer !== '') {
        const hint = /permission denied/i.test(answer) ? ` (the socket needs \`level admin\`)` : '';
        throw new ProviderError(`haproxy router: HAProxy at ${api.socket} refused \`${command}\`: ${answer.split('\n')[0]}${hint}`);
      }
    }
    const after = await look(ctx);
    const off = [...wanted].filter(([name, want]) => {
      const now = after.servers.get(name) as ServerState;
      return now.admin !== want.admin || effectiveWeight(now) !== effectiveWeight(want);
    });
    if (off.length > 0) {
      throw new ProviderError(
        `haproxy router: after the changes, backend ${config.backend} of HAProxy at ${api.socket} does not hold them (server ${off.map(([n]) => n).join(', ')}): something else changed it at the same time, or HAProxy restarted`,
        { retryable: true },
      );
    }
    return after;
  }

  return {
    type,
    async setWeights(weights, ctx) {
      if (ctx.signal.aborted) throw cancelled(ctx, 'setWeights');
      const before = await look(ctx);
      const kept = deps.state.get() as Kept | undefined;
      const w = serverWeights(weights.canary, { stable: stable.length, canary: canary.length }, MAX_WEIGHT);
      const wanted = new Map(names.map((n) => [n, wantedState(before.servers.get(n) as ServerState, stable.includes(n) ? w.stable : w.canary)]));
      const commands = commandsFor(before.servers, wanted);
      const served = shareIn(wanted);
      if (served !== weights.canary) ctx.log.info(`HAProxy weights are integers up to ${MAX_WEIGHT}: ${weights.canary}% is served as ${served}%`);
      if (kept?.applied && !sameProcess(kept.applied.process, before.process) && lost(kept.applied, before.servers)) {
        ctx.log.warn(`${describeLoss(kept.applied, before)}; setting the weights again`);
      }
      const applied = (process: ProcessIdentity) => ({
        canary: weights.canary,
        weights: Object.fromEntries(names.map((n) => [n, effectiveWeight(wanted.get(n) as ServerState)])),
        process,
      });
      if (commands.length === 0) {
        // Already so: remembered only once rollgate has touched the backend (for getWeights).
        const same = applied(before.process);
        if (kept && JSON.stringify(kept.applied) !== JSON.stringify(same)) await deps.state.put({ found: kept.found, applied: same } satisfies Kept);
        return;
      }
      // The servers as rollgate found them, on disk in the journal before the first change.
      const found: Record<string, ServerState> = kept?.found ?? Object.fromEntries(before.servers);
      if (kept === undefined) await deps.state.put({ found } satisfies Kept);
      const after = await apply(commands, wanted, ctx);
      ctx.recordChange({ object, field: 'weight', before: shareIn(before.servers) ?? null, after: weights.canary });
      await deps.state.put({ found, applied: applied(after.process) } satisfies Kept);
    },

    async getWeights(ctx): Promise<Weights> {
      if (ctx.signal.aborted) throw cancelled(ctx, 'getWeights');
      const now = await look(ctx);
      const applied = (deps.state.get() as Kept | undefined)?.applied;
      if (applied && lost(applied, now.servers)) {
        if (!sameProcess(applied.process, now.process)) {
          throw new ProviderError(`${describeLoss(applied, now)}; the next setWeights sets them again`, { retryable: true });
        }
      } else if (applied) {
        // What rollgate set for this share, even when HAProxy's integer weights only come close to it.
        return { canary: applied.canary };
      }
      const share = shareIn(now.servers);
      if (share === undefined) throw new ProviderError(`haproxy router: no server of backend ${config.backend} of HAProxy at ${api.socket} takes traffic, so it has no split`);
      return { canary: share };
    },

    async finalize(ctx) {
      const kept = deps.state.get() as Kept | undefined;
      // Never touched: the backend is as it was found, whoever set it.
      if (kept === undefined) return;
      if (ctx.signal.aborted) throw cancelled(ctx, 'finalize');
      const before = await look(ctx);
      const wanted = new Map(names.map((n) => [n, kept.found[n] ?? (before.servers.get(n) as ServerState)]));
      const commands = commandsFor(before.servers, wanted);
      if (commands.length > 0) {
        await apply(commands, wanted, ctx);
        ctx.recordChange({ object, field: 'weight', before: shareIn(before.servers) ?? null, after: shareIn(wanted) ?? null });
      }
      if (kept.applied) await deps.state.put({ found: kept.found } satisfies Kept);
    },
  };

  function describeLoss(applied: NonNullable<Kept['applied']>, now: Look): string {
    const share = shareIn(now.servers);
    const sends = share === undefined ? 'no traffic to any of its servers' : `${share}% to the canary`;
    return `haproxy router: HAProxy at ${api.socket} was reloaded or restarted (pid ${applied.process.pid} → ${now.process.pid}) since rollgate sent ${applied.canary}% of backend ${config.backend} to the canary, and lost those runtime weights (keep them across reloads with server-state-file and load-server-state-from-file): it sends ${sends} now`;
  }
}

/** A server's wanted state: its weight, and ready when it takes traffic; one that takes none already is left as it is. */
function wantedState(now: ServerState, weight: number): ServerState {
  if (weight > 0) return { weight, admin: 'ready' };
  return effectiveWeight(now) === 0 ? now : { weight: 0, admin: now.admin };
}

/** Whether the servers no longer carry the weights rollgate applied. */
function lost(applied: NonNullable<Kept['applied']>, servers: ReadonlyMap<string, ServerState>): boolean {
  return Object.entries(applied.weights).some(([name, weight]) => {
    const server = servers.get(name);
    return server === undefined || effectiveWeight(server) !== weight;
  });
}

function cancelled(ctx: StepContext, what: string): Error {
  const reason: unknown = ctx.signal.reason;
  return reason instanceof Error ? reason : new CancelledError(`haproxy router: ${what} was cancelled`);
}
