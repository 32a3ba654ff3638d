import { ProviderError } from '../../errors.js';
import type { HealthReport } from '../../model/results.js';
import type { StepContext } from '../../ports/step-context.js';
import { formatLimit } from '../../util/command-runner.js';
import { describeRequestError, httpFetch } from '../../util/http-fetch.js';

/*
 * Whether a slot serves: a GET of `healthPath` on the slot's own host name (`defaultHostName`,
 * `web-staging.azurewebsites.net`), as App Service's own warm-up and health check do. A slot
 * serves when it is Running and answers 2xx. HTTPS, except a loopback host (a local double or an
 * emulator), which is reached over plain HTTP. No cookie is kept: a slot is reached directly, not
 * through production's routing rules.
 */

/** One request gets this long to answer; a slot still starting often holds the connection. */
const REQUEST_MS = 10_000;

export function slotUrl(hostName: string, healthPath: string): string {
  const loopback = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/i.test(hostName);
  return `${loopback ? 'http' : 'https'}://${hostName}${healthPath.startsWith('/') ? healthPath : `/${healthPath}`}`;
}

/** Asks a slot once; never throws for an answer, only for a cancelled step. */
export async function slotHealth(slot: { state: string; hostName: string }, healthPath: string, what: string, ctx: StepContext): Promise<HealthReport> {
  if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new ProviderError('app-service target: cancelled');
  if (slot.state !== 'Running') return { healthy: false, ready: 0, total: 1, message: `${what} is ${slot.state}, not Running` };
  if (!slot.hostName) return { healthy: false, ready: 0, total: 1, message: `${what} has no host name yet` };
  const url = slotUrl(slot.hostName, healthPath);
  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(REQUEST_MS)]);
  const ask = (async () => {
    try {
      const response = await httpFetch(url, { signal, redirect: 'error', headers: { 'user-agent': 'rollgate warm-up' } });
      await response.body.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return { healthy: true, ready: 1, total: 1 };
      // 503 is App Service's answer while a container starts: not up yet. Any other answer is up and failing.
      return { healthy: false, ready: response.status === 503 ? 0 : 1, total: 1, message: `${what} answers HTTP ${response.status} on ${healthPath}` };
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      return { healthy: false, ready: 0, total: 1, message: `${what} does not answer on ${healthPath} (${describeRequestError(err)})` };
    }
  })();
  return ctx.clock.hold ? ctx.clock.hold(ask) : ask;
}

/**
 * Waits until a slot answers healthily, asking every `intervalMs` for at most `timeoutMs`; throws
 * with the last answer and `then` (what was, and was not, changed) when it never does.
 */
export async function warmUp(
  read: () => Promise<{ state: string; hostName: string }>,
  options: { healthPath: string; intervalMs: number; timeoutMs: number; what: string; then: string },
  ctx: StepContext,
): Promise<void> {
  const until = ctx.clock.now() + options.timeoutMs;
  let last = '';
  for (;;) {
    const report = await slotHealth(await read(), options.healthPath, options.what, ctx);
    if (report.healthy) return;
    if (report.message !== last) ctx.log.info(`app-service target: warming up: ${report.message ?? 'not healthy yet'}`);
    last = report.message ?? '';
    if (ctx.clock.now() >= until) {
      throw new ProviderError(`app-service target: ${options.what} did not warm up within ${formatLimit(options.timeoutMs)} (last: ${last}); ${options.then}`);
    }
    await ctx.clock.sleep(options.intervalMs, ctx.signal);
  }
}
