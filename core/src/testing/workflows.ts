import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseWorkflow, type LoadedWorkflow } from '../definition/load.js';
import { runWorkflow, type RunOptions } from '../engine/executor.js';
import { MemoryRunStore } from '../engine/memory-run-store.js';
import type { RunEvent } from '../model/events.js';
import { createVirtualClock } from '../clocks/virtual.js';

/**
 * Workflows for tests, built from plain objects, and a run on the simulated infrastructure that
 * collects its events. Audit files go to the temporary folder, never into the repository.
 */
export function loadTestWorkflow(doc: Record<string, unknown>): LoadedWorkflow {
  const text = stringify({
    version: 1,
    name: 'web',
    inputs: { version: { default: 'v2' } },
    environments: { staging: {}, production: {} },
    audit: { sinks: [{ type: 'file', dir: join(tmpdir(), 'rollgate-test-audit') }] },
    ...doc,
  });
  const result = parseWorkflow(text, 'test.yml');
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return { workflow: result.workflow, path: '/tmp/test.yml', dir: '/tmp', text, sha256: createHash('sha256').update(text).digest('hex'), warnings: result.warnings };
}

export async function runTestWorkflow(loaded: LoadedWorkflow, extra: Partial<RunOptions> = {}) {
  const events: RunEvent[] = [];
  const store = extra.store ?? new MemoryRunStore();
  const outcome = await runWorkflow({
    loaded,
    store,
    context: { actor: 'alice', ci: 'local' },
    clock: createVirtualClock(Date.UTC(2026, 0, 1)),
    ...extra,
    subscribers: [(e) => events.push(e), ...(extra.subscribers ?? [])],
  });
  return { outcome, events, store, kinds: events.map((e) => e.kind) };
}
