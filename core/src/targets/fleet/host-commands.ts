import type { CommandSpec } from '../../config/fields.js';
import { ProviderError } from '../../errors.js';
import type { ProviderDeps } from '../../ports/provider-deps.js';
import type { StepContext } from '../../ports/step-context.js';
import { describeCommand, runCommand, type CommandResult } from '../../util/command-runner.js';
import { Limiter, reasonOf } from './limiter.js';

/*
 * The four commands of one host, run as the command target runs its own: argv without a shell,
 * values only as environment variables, each in its own process group (killed at its time limit
 * or on cancellation), output streamed through the mask. A limiter shared by every call of the
 * target instance caps the commands running at once.
 */

export type Action = 'current' | 'deploy' | 'health' | 'revert';

/** What runs on a host: a version, `null` for nothing, `undefined` when rollgate cannot tell. */
export type HostVersion = string | null | undefined;

/** Lines of stderr (or stdout when stderr is empty) quoted in an error message. */
const QUOTED_LINES = 5;

export interface HostHealth {
  healthy: boolean;
  message: string;
}

/** What the host commands need of the fleet target's config (fleet.ts's schema gives it). */
export interface HostCommandsConfig {
  current?: CommandSpec | undefined;
  deploy: CommandSpec;
  health: CommandSpec;
  revert: CommandSpec;
  concurrency: number;
  timeout: number;
  checkTimeout: number;
  outputLimit: number;
  retryOn: { exitCodes: number[]; timeout: boolean };
}

export class HostCommands {
  /**
   * What this process last put on each host (`null`: removed). Without a `current` command it is
   * all rollgate knows of a host; with one it only says which version a host's health should show.
   */
  readonly known = new Map<string, string | null>();
  private readonly limiter: Limiter;

  constructor(
    private readonly config: HostCommandsConfig,
    private readonly deps: ProviderDeps,
  ) {
    this.limiter = new Limiter(config.concurrency);
  }

  /** Whether a host's version can be read (a `current` command is configured). */
  get readsVersions(): boolean {
    return this.config.current !== undefined;
  }

  /** What runs on `host`: read with `current`, else what this process put there. Read-only. */
  async version(host: string, ctx: StepContext): Promise<HostVersion> {
    if (!this.config.current) return this.known.get(host);
    const seen = this.observed(ctx);
    if (seen?.has(host)) return seen.get(host);
    const result = await this.run('current', this.config.current, host, ctx, {});
    if (result.exitCode !== 0) {
      throw this.failure('current', host, ctx, result, 'Fix the `current` command so it prints the version the host runs (or nothing) and exits 0.');
    }
    const version = result.stdout.trim() || null;
    seen?.set(host, version);
    return version;
  }

  /** Deploys `version` on `host` unless it runs there already; returns whether it changed anything. */
  async deploy(host: string, version: string, ctx: StepContext): Promise<boolean> {
    const before = await this.version(host, ctx);
    if (before === version) return false;
    // Whatever the command does, what this step read before no longer holds.
    this.observed(ctx)?.delete(host);
    const result = await this.run('deploy', this.config.deploy, host, ctx, {
      ROLLGATE_VERSION: version,
      ROLLGATE_PREVIOUS_VERSION: before ?? '',
      ROLLGATE_PREVIOUS_STATE: previousState(before),
    });
    if (result.exitCode !== 0) {
      throw this.failure('deploy', host, ctx, result, `${host} was not recorded as deployed; the rollback reverts it (the deploy command must be idempotent).`);
    }
    this.observed(ctx)?.set(host, version);
    this.known.set(host, version);
    ctx.recordChange({ object: `host/${host}`, field: 'version', before: before ?? null, after: version });
    return true;
  }

  /**
   * Puts `to` back on `host` (`null`: removes what runs there; `undefined`: the version before is
   * unknown, the revert command gets ROLLGATE_PREVIOUS_STATE=unknown). Idempotent.
   */
  async revert(host: string, to: HostVersion, ctx: StepContext): Promise<void> {
    const before = await this.version(host, ctx);
    if (before !== undefined && before === to) return;
    this.observed(ctx)?.delete(host);
    const result = await this.run('revert', this.config.revert, host, ctx, {
      ROLLGATE_VERSION: before ?? ctx.env.ROLLGATE_VERSION ?? '',
      ROLLGATE_PREVIOUS_VERSION: to ?? '',
      ROLLGATE_PREVIOUS_STATE: previousState(to),
    });
    if (result.exitCode !== 0) {
      const next = to ? `Version ${to} was not put back on ${host}; put it back by hand.` : `${host} was not reverted; undo the deploy there by hand.`;
      throw this.failure('revert', host, ctx, result, next);
    }
    if (to === undefined) this.known.delete(host);
    else {
      this.known.set(host, to);
      if (this.config.current) this.observed(ctx)?.set(host, to);
    }
    if (before !== to) ctx.recordChange({ object: `host/${host}`, field: 'version', before: before ?? null, after: to ?? null });
  }

  /** Runs the health command of `host`, which should serve `expected`. Throws only when it cannot run. The message does not name the host: the caller does. */
  async health(host: string, expected: string, ctx: StepContext): Promise<HostHealth> {
    const result = await this.run('health', this.config.health, host, ctx, { ROLLGATE_VERSION: expected });
    if (result.exitCode === 0) {
      const said = lastLine(result.stdout);
      return { healthy: true, message: said || 'health command exited 0' };
    }
    const said = lastLine(result.stderr) || lastLine(result.stdout);
    return { healthy: false, message: `health command ${result.reason}${said ? `: ${said}` : ''}` };
  }

  /** The version a host's health command should see: what rollgate put there, else what it runs. */
  async expected(host: string, ctx: StepContext): Promise<string> {
    const known = this.known.get(host);
    if (known !== undefined) return known ?? '';
    if (this.config.current) return (await this.version(host, ctx)) ?? '';
    return ctx.env.ROLLGATE_VERSION ?? '';
  }

  /** The host versions this step has read (or set) already: see StepContext.observed. */
  private observed(ctx: StepContext): Map<string, HostVersion> | undefined {
    if (!ctx.observed) return undefined;
    let seen = ctx.observed.get(this) as Map<string, HostVersion> | undefined;
    if (!seen) ctx.observed.set(this, (seen = new Map()));
    return seen;
  }

  private async run(action: Action, spec: CommandSpec, host: string, ctx: StepContext, values: Record<string, string>): Promise<CommandResult> {
    const env: Record<string, string> = {
      ...ctx.env,
      ROLLGATE_STAGE: ctx.stage,
      ROLLGATE_ENVIRONMENT: this.deps.environment,
      ...values,
      ROLLGATE_HOST: host,
    };
    const check = action === 'current' || action === 'health';
    let result: CommandResult;
    try {
      result = await this.limiter.run(ctx.signal, () =>
        runCommand(spec, {
          env,
          workDir: this.deps.workDir,
          timeoutMs: check ? this.config.checkTimeout : this.config.timeout,
          signal: ctx.signal,
          outputLimit: this.config.outputLimit,
          mask: ctx.mask,
          track: (pgid) => ctx.trackProcess(pgid, `${action} command of stage ${ctx.stage} on host ${host}`),
          // A version on stdout is a value, not a log line; everything else is streamed, by host.
          onLine: (stream, line) => {
            if (action !== 'current' || stream === 'stderr') ctx.log.output(stream, `${host}: ${line}`);
          },
        }),
      );
    } catch (err) {
      if (err instanceof ProviderError) {
        // The program did not start (not found, not executable): nothing can have changed.
        throw new ProviderError(`${this.what(action, spec, host, ctx)} cannot run: ${err.message}`, { cause: err, nothingChanged: true });
      }
      throw err;
    }
    if (result.cancelled) throw reasonOf(ctx.signal);
    return result;
  }

  private failure(action: Action, host: string, ctx: StepContext, result: CommandResult, next: string): ProviderError {
    const spec = this.config[action] as CommandSpec;
    const quoted = lastLines(result);
    const { exitCodes, timeout } = this.config.retryOn;
    const retryable = (result.exitCode !== null && exitCodes.includes(result.exitCode)) || (result.timedOut && timeout);
    const killed = result.timedOut ? ' (its process group was killed)' : '';
    return new ProviderError(`${this.what(action, spec, host, ctx)} ${result.reason}${killed}${quoted ? `:\n${quoted}` : ''}\n${next}`, { retryable });
  }

  private what(action: Action, spec: CommandSpec, host: string, ctx: StepContext): string {
    // The command's text is the workflow's, but a secret pasted into it must not reach a message either.
    // Masked whole, before it is shortened, so a cut cannot leave half a secret.
    const run = Array.isArray(spec) ? spec : spec.run;
    const text = ctx.mask(Array.isArray(run) ? run.join(' ') : run);
    return `fleet target of stage ${ctx.stage}, host ${host}: ${action} command (${describeCommand([text])})`;
  }
}

/** ROLLGATE_PREVIOUS_STATE: a version, nothing deployed before (`none`), or `unknown` (no `current` command). */
function previousState(version: HostVersion): 'version' | 'none' | 'unknown' {
  return version ? 'version' : version === null ? 'none' : 'unknown';
}

function lastLine(text: string): string {
  const lines = text.trimEnd().split('\n');
  return (lines[lines.length - 1] ?? '').trim();
}

/** The last lines of stderr (stdout when stderr is empty), indented, for an error message. */
function lastLines(result: CommandResult): string {
  const source = result.stderr.trim() ? result.stderr : result.stdout;
  return source
    .trimEnd()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-QUOTED_LINES)
    .map((l) => `    ${l}`)
    .join('\n');
}
