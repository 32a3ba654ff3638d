import { z } from 'zod';
import { commandSpec, duration } from '../config/fields.js';
import type { Probe } from '../ports/probe.js';
import type { ProbeResult } from '../model/results.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import { errorMessage } from '../errors.js';
import { runCommand } from '../util/command-runner.js';
import { parseValue } from '../util/parse-value.js';

export const type = 'command';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    run: commandSpec.describe('Command to run; ok when it exits 0, and its trimmed stdout (a number when numeric) is `value`'),
    timeout: duration('Give up on this probe after this long (the whole snapshot stops at 4.9s, so a state check ends within 5s)').prefault('2s'),
  })
  .describe('Runs a command; ok when it exits 0');
export type CommandProbeConfig = z.infer<typeof configSchema>;

/** Probes keep little output: the value is one short line. */
const PROBE_OUTPUT_LIMIT = 65_536;

export function create(config: CommandProbeConfig, deps: ProviderDeps): Probe {
  return {
    type,
    async check(ctx): Promise<ProbeResult> {
      const started = performance.now();
      try {
        const result = await runCommand(config.run, {
          env: ctx.env,
          workDir: deps.workDir,
          timeoutMs: config.timeout,
          signal: ctx.signal,
          outputLimit: PROBE_OUTPUT_LIMIT,
          mask: ctx.mask,
          track: (pgid) => ctx.trackProcess(pgid, `probe command (${ctx.step})`),
          // A probe that hangs must not hold the snapshot: short grace before SIGKILL.
          killGraceMs: 200,
          closeGraceMs: 200,
        });
        const value = parseValue(result.stdout);
        const ok = result.exitCode === 0 && !result.timedOut && !result.cancelled;
        const probe: ProbeResult = {
          ok,
          value,
          latencyMs: result.durationMs,
          // Only the tail of a longer output is kept: a value built from it (a host list) must know.
          details: { exitCode: result.exitCode, ...(result.stdoutDroppedBytes > 0 ? { outputTruncated: true } : {}) },
        };
        if (!ok) {
          const said = lastLine(result.stderr) || lastLine(result.stdout);
          probe.error = `command ${result.reason}${said ? `: ${said}` : ''}`;
        }
        return probe;
      } catch (err) {
        return { ok: false, value: null, latencyMs: Math.round(performance.now() - started), error: errorMessage(err) };
      }
    },
  };
}

function lastLine(text: string): string {
  const lines = text.trimEnd().split('\n');
  return (lines[lines.length - 1] ?? '').trim();
}
