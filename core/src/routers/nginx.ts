import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { commandSpec, duration, type CommandSpec } from '../config/fields.js';
import { CancelledError, ProviderError } from '../errors.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import type { TrafficRouter } from '../ports/traffic-router.js';
import { describeCommand, formatLimit, runCommand, type CommandResult } from '../util/command-runner.js';
import { readsFile, readUpstream, writeUpstream, type FileNow } from './nginx/file.js';
import { findUpstream, freshFile, isBackup, rewrite, weightOf } from './nginx/upstream.js';
import { listOf, serverWeights, shareOf } from './nginx/weights.js';
import { activeWorkers, masterPid, servesNow } from './nginx/workers.js';

export const type = 'nginx';

const addresses = (version: string) =>
  z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .describe(`Address of the server (or servers) playing the ${version} version, as written in the upstream block (host:port, unix:/path)`);

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    upstreamFile: z
      .string()
      .min(1)
      .describe('The file rollgate owns, included in the http block of nginx.conf, holding `upstream NAME { … }` (relative to the workflow file); created when missing'),
    upstream: z
      .string()
      .regex(/^[^\s{};#'"]+$/, 'expected an upstream name as nginx.conf spells it')
      .describe('Name of the upstream block whose server weights rollgate sets'),
    stable: addresses('stable'),
    canary: addresses('new'),
    nginx: z.string().min(1).default('nginx').describe('The nginx binary (path or name on PATH): runs `nginx -T` (the config test) and, by default, `nginx -s reload`'),
    args: z
      .array(z.string())
      .default([])
      .describe('Arguments given to nginx before -T and -s reload, such as ["-c", "/etc/nginx/nginx.conf"] or ["-p", "/srv/nginx"]'),
    reload: commandSpec.optional().describe('Reloads nginx gracefully (default: nginx ARGS -s reload), e.g. ["systemctl", "reload", "nginx"]'),
    verify: z
      .enum(['workers', 'none'])
      .default('workers')
      .describe(
        "How the live split is read: `workers` waits until every nginx worker accepting connections was started after the file was written (the reload is asynchronous and may fail; Linux, where nginx runs beside rollgate); `none` trusts the file once the reload command exits 0",
      ),
    pidFile: z
      .string()
      .min(1)
      .default('/run/nginx.pid')
      .describe("The nginx master's pid file, the `pid` of nginx.conf (relative to the workflow file): how its workers are found"),
    reloadTimeout: duration('How long a reload may take to start workers that serve the new file').prefault('10s'),
    timeout: duration('Time limit for nginx -T and the reload command').prefault('30s'),
  })
  .refine((c) => !listOf(c.canary).some((a) => listOf(c.stable).includes(a)), {
    message: 'an address cannot be both stable and canary',
    path: ['canary'],
  })
  .describe('Splits traffic by the server weights of an nginx upstream: rewrites one upstream file, tests it with nginx -T and reloads gracefully');
export type NginxRouterConfig = z.infer<typeof configSchema>;
type Config = NginxRouterConfig;

/** The upstream file as it was before rollgate's first change; `null` when there was none. */
interface Kept {
  found: string | null;
}

/** Between two looks at nginx's workers while a reload comes into effect. */
const POLL_MS = 25;
/** nginx's messages quoted in an error. */
const QUOTED_LINES = 5;
/** Output kept of an nginx command: `nginx -T` prints the whole configuration. */
const OUTPUT_LIMIT = 16 * 1_048_576;

/**
 * An nginx upstream whose server weights carry the split: `canary` % goes to the canary servers
 * (weights are integers, so 10 % is weight=1 against weight=9; a group with no traffic is `down`).
 * Each change rewrites the upstream file atomically, runs `nginx -T` (a file nginx rejects, or does
 * not read at all, is put back and nothing is reloaded), reloads gracefully, and waits until nginx
 * serves it. `finalize` puts back the file as it was before the first change, kept in the state.
 */
export function create(config: Config, deps: ProviderDeps): TrafficRouter {
  const file = resolve(deps.workDir, config.upstreamFile);
  const pidFile = isAbsolute(config.pidFile) ? config.pidFile : resolve(deps.workDir, config.pidFile);
  const stable = listOf(config.stable);
  const canary = listOf(config.canary);
  const object = `nginx-upstream/${config.upstream}`;
  const reload: CommandSpec = config.reload ?? [config.nginx, ...config.args, '-s', 'reload'];

  /** The canary's share in a version of the file. */
  function splitOf(text: string): number {
    const block = upstreamIn(text);
    const totals = { stable: 0, canary: 0 };
    for (const server of block.servers) {
      if (isBackup(server)) continue;
      if (stable.includes(server.address)) totals.stable += weightOf(server);
      else if (canary.includes(server.address)) totals.canary += weightOf(server);
    }
    const share = shareOf(totals);
    if (share === undefined) throw new ProviderError(`nginx router: no server of upstream ${config.upstream} in ${file} is up, so it has no split`);
    return share;
  }

  function upstreamIn(text: string) {
    const block = findUpstream(text, config.upstream);
    if (!block) {
      throw new ProviderError(
        `nginx router: ${file} has no \`upstream ${config.upstream} { … }\` block; rollgate rewrites the weights of that block (and writes the whole file only when it does not exist)`,
      );
    }
    const other = block.servers.find((s) => !isBackup(s) && !stable.includes(s.address) && !canary.includes(s.address));
    if (other) {
      throw new ProviderError(
        `nginx router: upstream ${config.upstream} in ${file} has server ${other.address}, which is neither stable nor canary: it would take a share of the traffic; add it to \`stable\` or \`canary\`, or remove it`,
      );
    }
    return block;
  }

  /** The file that sends `percent` % to the canary: `text` rewritten, or a new file when there is none. */
  function desired(text: string | null, percent: number): string {
    const w = serverWeights(percent, { stable: stable.length, canary: canary.length });
    const weights = new Map([...stable.map((a) => [a, w.stable] as const), ...canary.map((a) => [a, w.canary] as const)]);
    return text === null ? freshFile(config.upstream, weights) : rewrite(text, upstreamIn(text), weights);
  }

  async function run(what: string, spec: CommandSpec, ctx: StepContext, logged: 'stderr' | 'all' = 'all'): Promise<CommandResult> {
    const result = await runCommand(spec, {
      env: { ...ctx.env },
      workDir: deps.workDir,
      timeoutMs: config.timeout,
      signal: ctx.signal,
      mask: ctx.mask,
      outputLimit: OUTPUT_LIMIT,
      track: (pgid) => ctx.trackProcess(pgid, `${what} of the nginx router of stage ${ctx.stage}`),
      onLine: (stream, line) => {
        if (logged === 'all' || stream === logged) ctx.log.output(stream, line);
      },
    });
    if (result.cancelled) throw cancelled(ctx, what);
    return result;
  }

  /** Whether nginx serves the file as it is now; `true` without verification. */
  async function live(now: FileNow): Promise<boolean> {
    if (config.verify === 'none') return true;
    return servesNow(await masterPid(pidFile), now.mtimeMs);
  }

  /** Waits until nginx serves the file as it is now, through none of the `before` workers. */
  async function awaitWorkers(before: ReadonlySet<number>, ctx: StepContext): Promise<void> {
    const { mtimeMs } = await readUpstream(file);
    const until = ctx.clock.now() + config.reloadTimeout;
    for (;;) {
      const master = await masterPid(pidFile).catch(() => undefined);
      if (master !== undefined && (await servesNow(master, mtimeMs, before))) return;
      if (ctx.clock.now() >= until) {
        throw new ProviderError(
          `nginx router: nginx did not start workers serving ${file} within ${formatLimit(config.reloadTimeout)} of the reload, so it still serves the previous configuration (applying the new one failed, or the reload is slow: see nginx's error log; reloadTimeout waits longer)`,
          { retryable: true },
        );
      }
      await ctx.clock.sleep(POLL_MS, ctx.signal);
    }
  }

  /**
   * Runs `nginx -T` (the test, which also lists every file the configuration reads): when nginx
   * rejects the file, or does not read it at all, `previous` is put back and nothing is reloaded.
   */
  async function test(previous: FileNow, ctx: StepContext): Promise<void> {
    const argv = [config.nginx, ...config.args, '-T'];
    const putBack = () => writeUpstream(file, previous.text, previous.mtimeMs);
    let tested: CommandResult;
    try {
      // Its stdout is the whole configuration: captured to look for the file, never logged.
      tested = await run('nginx -T', argv, ctx, 'stderr');
    } catch (err) {
      await putBack();
      if (!(err instanceof ProviderError)) throw err;
      throw new ProviderError(`nginx router: cannot test ${file} (so it was put back): ${err.message}`, { cause: err, nothingChanged: true });
    }
    if (tested.exitCode !== 0) {
      await putBack();
      throw new ProviderError(
        `nginx router: \`${argv.join(' ')}\` rejected the new weights of upstream ${config.upstream} (${tested.reason}), so ${file} was put back and nginx was not reloaded:\n${quote(tested)}`,
        { nothingChanged: true },
      );
    }
    if (!(await readsFile(tested.stdout, file))) {
      await putBack();
      throw new ProviderError(
        `nginx router: nginx does not read ${file} (it is not among the files \`${argv.join(' ')}\` lists), so its weights would change nothing; include it in the http block of nginx.conf, or fix upstreamFile and args`,
        { nothingChanged: true },
      );
    }
  }

  /** Writes `text`, tests it (putting `previous` back when nginx rejects it), reloads and verifies. */
  async function apply(text: string, previous: FileNow, ctx: StepContext): Promise<void> {
    const before = config.verify === 'workers' ? new Set((await activeWorkers(await masterPid(pidFile))).map((w) => w.pid)) : undefined;
    await writeUpstream(file, text);
    await test(previous, ctx);
    let reloaded: CommandResult;
    try {
      reloaded = await run('reload', reload, ctx);
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      throw new ProviderError(`nginx router: cannot reload nginx: ${err.message}; ${file} holds the new weights, nginx still serves the old ones`, { cause: err });
    }
    if (reloaded.exitCode !== 0) {
      throw new ProviderError(
        `nginx router: the reload \`${describeCommand(reload)}\` ${reloaded.reason}; ${file} holds the new weights, nginx still serves the old ones:\n${quote(reloaded)}`,
      );
    }
    if (before) await awaitWorkers(before, ctx);
  }

  return {
    type,
    async setWeights(weights, ctx) {
      if (ctx.signal.aborted) throw cancelled(ctx, 'setWeights');
      const now = await readUpstream(file);
      const text = desired(now.text, weights.canary);
      if (text === now.text && (await live(now))) return;
      // The file as rollgate found it, on disk in the journal before the first change.
      if (deps.state.get() === undefined) await deps.state.put({ found: now.text } satisfies Kept);
      await apply(text, now, ctx);
      if (text !== now.text) ctx.recordChange({ object, field: 'weight', before: splitOrNull(now.text), after: weights.canary });
    },

    async getWeights(ctx) {
      if (ctx.signal.aborted) throw cancelled(ctx, 'getWeights');
      const now = await readUpstream(file);
      if (now.text === null) throw new ProviderError(`nginx router: the upstream file ${file} does not exist, so the split of upstream ${config.upstream} is unknown`);
      const canaryShare = splitOf(now.text);
      if (!(await live(now))) {
        throw new ProviderError(
          `nginx router: nginx does not serve ${file} yet (written at ${new Date(now.mtimeMs).toISOString()}, after its workers started): a reload is pending or failed (see nginx's error log)`,
          { retryable: true },
        );
      }
      return { canary: canaryShare };
    },

    async finalize(ctx) {
      const kept = deps.state.get() as Kept | undefined;
      // Never touched: the file is as it was found, whoever wrote it.
      if (kept === undefined) return;
      if (ctx.signal.aborted) throw cancelled(ctx, 'finalize');
      const now = await readUpstream(file);
      // There was no file: nginx now includes it, so it stays, sending everything to the stable servers.
      const text = kept.found ?? desired(null, 0);
      if (text === now.text && (await live(now))) return;
      await apply(text, now, ctx);
      if (text !== now.text) ctx.recordChange({ object, field: 'weight', before: splitOrNull(now.text), after: splitOrNull(text) });
    },
  };

  function splitOrNull(text: string | null): number | null {
    try {
      return text === null ? null : splitOf(text);
    } catch {
      return null;
    }
  }
}

function cancelled(ctx: StepContext, what: string): Error {
  const reason: unknown = ctx.signal.reason;
  return reason instanceof Error ? reason : new CancelledError(`nginx router: ${what} was cancelled`);
}

/** nginx's own messages (`[emerg] host not found in upstream … in FILE:3`), without timestamps and pids. */
function quote(result: CommandResult): string {
  const source = result.stderr.trim() ? result.stderr : result.stdout;
  const lines = source.split('\n').filter((l) => l.trim() !== '');
  const serious = lines.filter((l) => /\[(emerg|alert|crit|error)\]/.test(l));
  return (serious.length > 0 ? serious : lines)
    .slice(-QUOTED_LINES)
    .map((l) => `    ${l.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d (\[\w+\]) \d+#\d+: /, '$1 ').replace(/^nginx: (\[\w+\]) /, '$1 ')}`)
    .join('\n');
}
