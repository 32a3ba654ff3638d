import { z } from 'zod';
import { commandOutputLimit, commandRetryOn, commandSpec, duration, type CommandSpec } from '../config/fields.js';
import { CancelledError, ProviderError } from '../errors.js';
import type { DeployedState, HealthReport } from '../model/results.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import type { Target } from '../ports/target.js';
import { runCommand, type CommandResult } from '../util/command-runner.js';

export const type = 'command';

/** Deploy, health and revert only: one version at a time, everywhere the commands reach. */
export const capabilities = [] as const;

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    current: commandSpec
      .optional()
      .describe('Prints the version running now on stdout (empty output: nothing deployed). Without it rollgate cannot tell the previous version, so revert gets an empty $ROLLGATE_PREVIOUS_VERSION.'),
    deploy: commandSpec.describe('Deploys $ROLLGATE_VERSION. Must be idempotent.'),
    health: commandSpec.optional().describe('Exits 0 when the deployed version is healthy; polled during verification'),
    revert: commandSpec
      .optional()
      .describe('Undoes the deploy of $ROLLGATE_VERSION: puts $ROLLGATE_PREVIOUS_VERSION back (empty on a first deploy, or when there is no `current`). Without it a failed stage needs a human.'),
    timeout: duration('Default time limit for each command').prefault('10m'),
    outputLimit: commandOutputLimit,
    retryOn: commandRetryOn,
  })
  .describe('Runs your own commands to deploy, check health and revert: anything with a CLI');
export type CommandTargetConfig = z.infer<typeof configSchema>;
type Config = CommandTargetConfig;

/** Lines of stderr (or stdout when stderr is empty) quoted in an error message. */
const QUOTED_LINES = 5;

type Action = 'current' | 'deploy' | 'health' | 'revert';

/**
 * ROLLGATE_PREVIOUS_STATE: whether ROLLGATE_PREVIOUS_VERSION holds a version, or is empty because
 * nothing was deployed before (`none`: a revert removes what the deploy created), or because
 * rollgate cannot tell (`unknown`: no `current` command; a revert must not remove anything).
 */
type PreviousState = 'version' | 'none' | 'unknown';

/**
 * A target driven by the user's own commands. Every command gets `ctx.env` plus ROLLGATE_VERSION,
 * ROLLGATE_PREVIOUS_VERSION, ROLLGATE_STAGE and ROLLGATE_ENVIRONMENT; values never enter argv or
 * script text. Output is streamed line by line to `ctx.log.output` (which masks secrets).
 */
export function create(config: Config, deps: ProviderDeps): Target {
  /** The version this process last deployed or put back: the fallback when there is no `current`. */
  let lastKnown: string | undefined;
  /** This target's key in a step's observations (StepContext.observed): what `current` printed. */
  const self = {};
  const observed = (ctx: StepContext) => ctx.observed as Map<object, string | undefined> | undefined;

  async function run(
    action: Action,
    spec: CommandSpec,
    ctx: StepContext,
    versions: { version: string; previous: string; previousState?: PreviousState },
  ): Promise<CommandResult> {
    const env: Record<string, string> = {
      ...ctx.env,
      ROLLGATE_VERSION: versions.version,
      ROLLGATE_PREVIOUS_VERSION: versions.previous,
      ROLLGATE_PREVIOUS_STATE: versions.previousState ?? (versions.previous ? 'version' : config.current ? 'none' : 'unknown'),
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
        track: (pgid) => ctx.trackProcess(pgid, `${action} command of stage ${ctx.stage}`),
        onLine: (stream, line) => ctx.log.output(stream, line),
      });
    } catch (err) {
      if (err instanceof ProviderError) {
        // The program did not start (not found, not executable): nothing can have changed.
        throw new ProviderError(`${what(action, ctx)} cannot run: ${err.message}`, { cause: err, retryable: false, nothingChanged: true });
      }
      throw err;
    }
    if (result.cancelled) {
      const reason: unknown = ctx.signal.reason;
      throw reason instanceof Error ? reason : new CancelledError(`${what(action, ctx)} was cancelled`);
    }
    return result;
  }

  function failure(action: Action, ctx: StepContext, result: CommandResult, next: string): ProviderError {
    const quoted = lastLines(result);
    const retryable = (result.exitCode !== null && config.retryOn.exitCodes.includes(result.exitCode)) || (result.timedOut && config.retryOn.timeout);
    return new ProviderError(`${what(action, ctx)} ${result.reason}${quoted ? `:\n${quoted}` : ''}\n${next}`, { retryable });
  }

  async function readCurrent(ctx: StepContext): Promise<string | undefined> {
    if (!config.current) return undefined;
    if (observed(ctx)?.has(self)) return observed(ctx)?.get(self);
    const known = lastKnown ?? '';
    const result = await run('current', config.current, ctx, { version: known, previous: known });
    if (result.exitCode !== 0) {
      throw failure('current', ctx, result, 'Fix the `current` command so it prints the running version (or nothing) and exits 0.');
    }
    const version = result.stdout.trim() || undefined;
    observed(ctx)?.set(self, version);
    return version;
  }

  /** Runs a deploy or revert: what the step read before no longer holds; a success leaves `to`. */
  async function change(action: 'deploy' | 'revert', spec: CommandSpec, ctx: StepContext, to: string | undefined, versions: { version: string; previous: string }) {
    observed(ctx)?.delete(self);
    const result = await run(action, spec, ctx, versions);
    if (result.exitCode === 0 && config.current) observed(ctx)?.set(self, to);
    return result;
  }

  return {
    type,
    knowsCurrent: config.current !== undefined,

    async current(ctx) {
      const version = await readCurrent(ctx);
      return version === undefined ? undefined : { version };
    },

    async deploy(version, ctx) {
      const before = config.current ? await readCurrent(ctx) : (lastKnown ?? nonEmpty(ctx.env.ROLLGATE_PREVIOUS_VERSION));
      const result = await change('deploy', config.deploy, ctx, version, { version, previous: before ?? '' });
      if (result.exitCode !== 0) {
        throw failure('deploy', ctx, result, `Nothing was recorded as deployed; fix the cause and run again (the deploy command must be idempotent).`);
      }
      lastKnown = version;
      if (before !== version) {
        ctx.recordChange({ object: `command-target/${ctx.stage}`, field: 'version', before: before ?? null, after: version });
      }
    },

    async health(ctx): Promise<HealthReport> {
      if (!config.health) {
        return { healthy: true, ready: 1, total: 1, message: 'no health command configured' };
      }
      const result = await run('health', config.health, ctx, {
        version: ctx.env.ROLLGATE_VERSION ?? lastKnown ?? '',
        previous: ctx.env.ROLLGATE_PREVIOUS_VERSION ?? '',
      });
      if (result.exitCode === 0) {
        const said = lastLine(result.stdout);
        return { healthy: true, ready: 1, total: 1, message: said ? `health command: ${said}` : 'health command exited 0' };
      }
      const said = lastLine(result.stderr) || lastLine(result.stdout);
      // The command ran and said no: one unit, up and failing, so verification's failure threshold
      // applies (a bad version fails fast instead of waiting for the verify timeout).
      return { healthy: false, ready: 1, total: 1, message: `health command ${result.reason}${said ? `: ${said}` : ''}` };
    },

    async revert(previous: DeployedState | undefined, ctx) {
      const previousVersion = previous?.version;
      if (!config.revert) {
        const what = previousVersion
          ? `put back version ${previousVersion} by hand`
          : `remove what the first deploy${lastKnown ? ` of ${lastKnown}` : ''} created by hand (nothing ran before it)`;
        throw new ProviderError(`no revert command configured for stage ${ctx.stage}: ${what}, or add \`revert\` to the command target`);
      }
      const before = config.current ? await readCurrent(ctx) : lastKnown;
      // ROLLGATE_VERSION stays the version being removed; ROLLGATE_PREVIOUS_VERSION is what to put back.
      const result = await change('revert', config.revert, ctx, previousVersion, {
        version: ctx.env.ROLLGATE_VERSION ?? before ?? '',
        previous: previousVersion ?? '',
      });
      if (result.exitCode !== 0) {
        throw failure(
          'revert',
          ctx,
          result,
          previousVersion ? `Version ${previousVersion} was not put back; restore it by hand.` : 'The first deploy was not removed; remove it by hand.',
        );
      }
      lastKnown = previousVersion;
      if (before !== previousVersion) {
        ctx.recordChange({ object: `command-target/${ctx.stage}`, field: 'version', before: before ?? null, after: previousVersion ?? null });
      }
    },
  };
}

function what(action: Action, ctx: StepContext): string {
  return `${action} command of stage ${ctx.stage}`;
}

function nonEmpty(text: string | undefined): string | undefined {
  return text ? text : undefined;
}

function lastLine(text: string): string {
  const lines = text.trimEnd().split('\n');
  return (lines[lines.length - 1] ?? '').trim();
}

/** The last lines of stderr (stdout when stderr is empty), indented, for an error message. */
function lastLines(result: CommandResult): string {
  const source = result.stderr.trim() ? result.stderr : result.stdout;
  const lines = source.trimEnd().split('\n').filter((l) => l.trim() !== '');
  return lines
    .slice(-QUOTED_LINES)
    .map((l) => `    ${l}`)
    .join('\n');
}
