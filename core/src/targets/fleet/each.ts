import { errorMessage, ProviderError } from '../../errors.js';

/** Failures quoted in a message about many hosts; the rest are counted. */
const QUOTED_FAILURES = 5;

export interface HostFailure {
  host: string;
  error: unknown;
}

/**
 * Runs `work` for every host, `width` hosts at a time, and returns what each gave. With
 * `stopOnFailure` no host is started after one has failed (a deploy should not spread a fault);
 * without it every host is tried (a revert undoes as much as it can). Hosts already started
 * always finish, so nothing runs behind the caller's back once this returns.
 */
export async function eachHost<T>(
  hosts: readonly string[],
  width: number,
  work: (host: string) => Promise<T>,
  options: { stopOnFailure: boolean },
): Promise<{ results: Map<string, T>; failures: HostFailure[] }> {
  const results = new Map<string, T>();
  const failures: HostFailure[] = [];
  let next = 0;
  const worker = async () => {
    while (next < hosts.length && !(options.stopOnFailure && failures.length > 0)) {
      const host = hosts[next++] as string;
      try {
        results.set(host, await work(host));
      } catch (error) {
        failures.push({ host, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, width), hosts.length) }, worker));
  // In rollout order, whichever finished first: messages read the same from run to run.
  failures.sort((x, y) => hosts.indexOf(x.host) - hosts.indexOf(y.host));
  return { results, failures };
}

/**
 * Throws what went wrong on some hosts, as one error. One failure is thrown as it is; a
 * cancellation (anything but a `ProviderError`) wins over the provider errors; several become one
 * `ProviderError` that names each host, retryable only when every one of them is.
 */
export function throwFailures(what: string, failures: readonly HostFailure[], total: number): void {
  if (failures.length === 0) return;
  const other = failures.find((f) => !(f.error instanceof ProviderError));
  if (other) throw other.error;
  if (failures.length === 1) throw (failures[0] as HostFailure).error;
  const errors = failures.map((f) => f.error as ProviderError);
  const quoted = failures.slice(0, QUOTED_FAILURES).map((f) => `  - ${indent(errorMessage(f.error))}`);
  const more = failures.length > QUOTED_FAILURES ? [`  - and ${failures.length - QUOTED_FAILURES} more`] : [];
  const names = failures.slice(0, 10).map((f) => f.host).join(', ') + (failures.length > 10 ? ', …' : '');
  throw new ProviderError(`fleet target: ${what} failed on ${failures.length} of ${total} hosts (${names}):\n${[...quoted, ...more].join('\n')}`, {
    retryable: errors.every((e) => e.retryable),
    nothingChanged: errors.every((e) => e.nothingChanged),
  });
}

function indent(text: string): string {
  return text.split('\n').join('\n    ');
}
