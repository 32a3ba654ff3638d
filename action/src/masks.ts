import * as core from '@actions/core';
import { secretVariableNames, type Workflow } from '../../core/src/index.js';

/**
 * Registers with the runner every secret the workflow names, before anything is printed. rollgate
 * masks them in its own output already; the runner's mask also covers what the runner itself
 * shows (annotations, the summary, outputs) and anything a deploy command prints that rollgate
 * does not see. The runner masks per line, so a multi-line secret is registered line by line.
 */

/** Masks the values of the workflow's secret variables (and `extra` values, e.g. the token). */
export function maskSecrets(workflow: Workflow, env: Record<string, string | undefined>, extra: (string | undefined)[] = []): number {
  const values = [...secretVariableNames(workflow).map((n) => env[n]), ...extra].filter((v): v is string => typeof v === 'string' && v !== '');
  let count = 0;
  for (const value of values) {
    for (const line of value.split(/\r?\n/)) {
      if (line.trim() === '') continue;
      core.setSecret(line.trim());
      count += 1;
    }
  }
  return count;
}
