import { z } from 'zod';
import { commandOutputLimit, commandRetryOn, commandSpec, duration, type CommandSpec } from '../config/fields.js';
import { CancelledError, ProviderError } from '../errors.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import type { TrafficRouter } from '../ports/traffic-router.js';
import { runCommand, type CommandResult } from '../util/command-runner.js';

export const type = 'command';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    set: commandSpec.describe(
      'Sends $ROLLGATE_CANARY_WEIGHT % of the traffic to the new version and $ROLLGATE_STABLE_WEIGHT % to the stable one (percentages, 0–100, possibly with decimals). Must be idempotent.',
    ),
    get: commandSpec.describe('Prints the split live now on stdout: the canary weight in percent (`10`), or JSON `{"stable": 90, "canary": 10}` (relative weights)'),
    finalize: commandSpec
      .optional()
      .describe('Puts back the routing found before the first change: $ROLLGATE_CANARY_WEIGHT is the weight `get` printed then (default: runs `set` with it)'),
    timeout: duration('Default time limit for each command').prefault('2m'),
    outputLimit: commandOutputLimit,
    retryOn: commandRetryOn,
  })
  .describe('Splits traffic with your own commands: any proxy, load balancer or CLI');
export type CommandRouterConfig = z.infer<typeof configSchema>;
type Config = CommandRouterConfig;

/** The canary weight `get` printed before rollgate's first change. */
interface Kept {
  found: number;
}

type Action = 'set' | 'get' | 'finalize';

/** Lines of stderr (or stdout when stderr is empty) quoted in an error message. */
const QUOTED_LINES = 5;

/**
 * A router driven by the user's own commands, run as the command target runs its own: argv
 * without a shell unless asked, values only as environment variables (ctx.env plus
 * ROLLGATE_CANARY_WEIGHT, ROLLGATE_STABLE_WEIGHT, ROLLGATE_STAGE and ROLLGATE_ENVIRONMENT), output
 * streamed to the log. `get` is read before every change, so a weight already set is not set again
 * and the weight found on first touch is kept for `finalize`.
 */
export function create(config: Config, deps: ProviderDeps): TrafficRouter {
  const object = (ctx: StepContext) => `command-router/${ctx.stage}`;

  async function run(action: Action, spec: CommandSpec, ctx: StepContext, canary?: number): Promise<CommandResult> {
    const env: Record<string, string> = {
      ...ctx.env,
      ...(canary === undefined ? {} : { ROLLGATE_CANARY_WEIGHT: String(canary), ROLLGATE_STABLE_WEIGHT: String(round(100 - canary)) }),
      ROLLGATE_STAGE: ctx.stage,
      ROLLGATE_ENVIRONMENT: deps.environment,
    };
    let result: CommandResult;
    try {
      result = await runCommand(spec, {
        env,
        workDir: deps.workDir,
        timeoutMs: config.timeout,
        signal: ctx.signal,
        outputLimit: config.outputLimit,
        mask: ctx.mask,
        track: (pgid) => ctx.trackProcess(pgid, `${action} command of the router of stage ${ctx.stage}`),
        onLine: (stream, line) => ctx.log.output(stream, line),
      });
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      // The program did not start (not found, not executable): nothing can have changed.
      throw new ProviderError(`${what(action, ctx)} cannot run: ${err.message}`, { cause: err, nothingChanged: true });
    }
    if (result.cancelled) {
      const reason: unknown = ctx.signal.reason;
      throw reason instanceof Error ? reason : new CancelledError(`${what(action, ctx)} was cancelled`);
    }
    if (result.exitCode !== 0) {
      const quoted = lastLines(result);
      const retryable = (result.exitCode !== null && config.retryOn.exitCodes.includes(result.exitCode)) || (result.timedOut && config.retryOn.timeout);
      throw new ProviderError(`${what(action, ctx)} ${result.reason}${quoted ? `:\n${quoted}` : ''}`, { retryable });
    }
    return result;
  }

  async function read(ctx: StepContext): Promise<number> {
    const result = await run('get', config.get, ctx);
    const canary = parseSplit(result.stdout.trim());
    if (canary === undefined) {
      const printed = result.stdout.trim().split('\n')[0] ?? '';
      throw new ProviderError(
        `${what('get', ctx)} printed ${printed ? `'${printed.slice(0, 80)}'` : 'nothing'}: expected the canary weight in percent (such as 10) or JSON such as {"stable": 90, "canary": 10}`,
      );
    }
    return canary;
  }

  /** Runs `action` to send `canary` %, unless `get` says it is so already; reports the change. */
  async function move(action: Action, spec: CommandSpec, canary: number, ctx: StepContext, before: number): Promise<void> {
    if (before === canary) return;
    await run(action, spec, ctx, canary);
    ctx.recordChange({ object: object(ctx), field: 'weight', before, after: canary });
  }

  return {
    type,
    async setWeights(weights, ctx) {
      const before = await read(ctx);
      // The weight as rollgate found it, on disk in the journal before the first change.
      if (deps.state.get() === undefined && before !== weights.canary) await deps.state.put({ found: before } satisfies Kept);
      await move('set', config.set, weights.canary, ctx, before);
    },
    async getWeights(ctx) {
      return { canary: await read(ctx) };
    },
    async finalize(ctx) {
      const kept = deps.state.get() as Kept | undefined;
      // Never touched: the routing is as it was found, whoever set it.
      if (kept === undefined) return;
      const before = await read(ctx);
      await move(config.finalize ? 'finalize' : 'set', config.finalize ?? config.set, kept.found, ctx, before);
    },
  };
}

/** The canary's percent from what `get` printed: a number, or JSON `{stable, canary}` weights. */
export function parseSplit(text: string): number | undefined {
  if (/^[+]?\d+(\.\d+)?$/.test(text)) {
    const value = Number(text);
    return value <= 100 ? value : undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed === 'number') return parsed >= 0 && parsed <= 100 ? parsed : undefined;
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { stable, canary } = parsed as { stable?: unknown; canary?: unknown };
  if (typeof canary !== 'number' || canary < 0) return undefined;
  if (stable === undefined) return canary <= 100 ? canary : undefined;
  if (typeof stable !== 'number' || stable < 0 || stable + canary === 0) return undefined;
  return round((100 * canary) / (stable + canary));
}

function round(percent: number): number {
  return Math.round(percent * 100) / 100;
}

function what(action: Action, ctx: StepContext): string {
  return `${action} command of the router of stage ${ctx.stage}`;
}

function lastLines(result: CommandResult): string {
  const source = result.stderr.trim() ? result.stderr : result.stdout;
  const lines = source.trimEnd().split('\n').filter((l) => l.trim() !== '');
  return lines
    .slice(-QUOTED_LINES)
    .map((l) => `    ${l}`)
    .join('\n');
}
