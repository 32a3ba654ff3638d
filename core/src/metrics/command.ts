import { z } from 'zod';
import { commandSpec, duration } from '../config/fields.js';
import { NoDataError, ProviderError } from '../errors.js';
import type { MetricProvider } from '../ports/metric-provider.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import { parseValue } from '../util/parse-value.js';
import { describeCommand, runCommand } from '../util/command-runner.js';

export const type = 'command';

/** The variable that carries the metric's `query` to the command. */
export const QUERY_VARIABLE = 'ROLLGATE_METRIC_QUERY';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    run: commandSpec.describe(`Command that prints one number on stdout (logs go to stderr); the metric's query is in $${QUERY_VARIABLE}`),
    timeout: duration('Kill the command after this long: the measurement then errors').prefault('30s'),
  })
  .describe(
    `Runs a command for each measurement and reads the one number it prints. The query reaches it as $${QUERY_VARIABLE}, never as text ` +
      'in the command. Empty output is no data; a non-zero exit or anything but one number is an error.',
  );
export type CommandMetricConfig = z.infer<typeof configSchema>;

/** A metric prints one number: little output is kept. */
const OUTPUT_LIMIT = 65_536;

export function create(config: CommandMetricConfig, deps: ProviderDeps): MetricProvider {
  const label = `command: \`${describeCommand(config.run)}\``;
  return {
    type,
    async query(query, ctx) {
      const result = await runCommand(config.run, {
        env: { ...ctx.env, [QUERY_VARIABLE]: query },
        workDir: deps.workDir,
        timeoutMs: config.timeout,
        signal: ctx.signal,
        outputLimit: OUTPUT_LIMIT,
        mask: ctx.mask,
        track: (pgid) => ctx.trackProcess(pgid, `metric command (${ctx.step})`),
      });
      if (result.exitCode !== 0 || result.timedOut || result.cancelled) {
        const said = lastLines(result.stderr) || lastLines(result.stdout);
        // The source may answer next time (the command is the only one that knows): let the
        // analysis measure again, within consecutiveErrorLimit.
        throw new ProviderError(`${label} ${result.reason}${said ? `: ${said}` : ' and printed nothing'}`, { retryable: !result.cancelled });
      }
      const value = parseValue(result.stdout);
      if (value === null) throw new NoDataError(`${label}: no data: it printed nothing on stdout for query '${query}'`);
      if (typeof value === 'number') return value;
      throw new ProviderError(`${label} printed ${JSON.stringify(cut(value))} for query '${query}', not one number; print only the number on stdout, logs on stderr`);
    },
  };
}

/** The last few lines of output, on one line: what a failing command said last. */
function lastLines(text: string, count = 3): string {
  const lines = text
    .trimEnd()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return cut(lines.slice(-count).join(' | '), 300);
}

function cut(text: string, max = 120): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
