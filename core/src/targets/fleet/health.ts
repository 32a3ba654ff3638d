import type { HealthReport } from '../../model/results.js';
import type { StepContext } from '../../ports/step-context.js';
import { eachHost, throwFailures } from './each.js';
import type { HostCommands } from './host-commands.js';

/** Failing hosts named in a health message; the rest are counted. */
const NAMED = 3;

/**
 * The health of some hosts as one report: ready = hosts whose health command passed. Each host's
 * command sees the version it should serve (`expected`). Throws only when a command cannot run.
 */
export async function healthOf(
  hosts: readonly string[],
  commands: HostCommands,
  width: number,
  expected: (host: string) => Promise<string>,
  ctx: StepContext,
): Promise<HealthReport> {
  if (hosts.length === 0) return { healthy: false, ready: 0, total: 0, message: 'no hosts to check' };
  const { results, failures } = await eachHost(hosts, width, async (host) => commands.health(host, await expected(host), ctx), { stopOnFailure: true });
  throwFailures('health', failures, hosts.length);
  const reports = hosts.flatMap((host) => {
    const report = results.get(host);
    return report ? [{ host, ...report }] : [];
  });
  const bad = reports.filter((r) => !r.healthy);
  const ready = reports.length - bad.length;
  if (hosts.length === 1) return { healthy: bad.length === 0, ready, total: 1, message: `${hosts[0] as string}: ${(reports[0] as { message: string }).message}` };
  const named = bad.slice(0, NAMED).map((r) => `${r.host}: ${r.message}`);
  const more = bad.length > NAMED ? [`${bad.length - NAMED} more`] : [];
  return {
    healthy: bad.length === 0,
    ready,
    total: hosts.length,
    message: `${ready}/${hosts.length} hosts healthy${bad.length ? `; failing: ${[...named, ...more].join('; ')}` : ''}`,
  };
}
