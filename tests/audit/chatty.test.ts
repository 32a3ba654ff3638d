import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { AuditEntry } from '../../core/src/audit/entry.js';
import { OMITTED_KIND, OUTPUT_LIMITS } from '../../core/src/audit/output-cap.js';
import { verifyTrail } from '../../core/src/audit/verify.js';
import { parseWorkflow, type LoadedWorkflow } from '../../core/src/definition/load.js';
import { runWorkflow } from '../../core/src/engine/executor.js';
import { MemoryRunStore } from '../../core/src/engine/memory-run-store.js';

/*
 * A real deploy command that prints 300,000 lines. The audit trail records the first lines and
 * counts the rest (the CI log has them all), the process's memory does not grow with the output,
 * and every entry after the output (the deploy's end, the run's end) is in the trail.
 */
let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rollgate-audit-chatty-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function load(doc: Record<string, unknown>): LoadedWorkflow {
  const text = stringify(doc);
  const result = parseWorkflow(text, 'chatty.yml');
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return { workflow: result.workflow, path: join(root, 'chatty.yml'), dir: root, text, sha256: createHash('sha256').update(text).digest('hex'), warnings: result.warnings };
}

describe('a deploy command that prints 300,000 lines', () => {
  it('keeps memory bounded and the audit trail whole: the first lines, a count of the rest, and every entry after them', async () => {
    const auditDir = join(root, 'audit');
    const loaded = load({
      version: 1,
      name: 'chatty',
      inputs: { version: { default: 'v2' } },
      environments: { staging: {} },
      audit: { sinks: [{ type: 'file', dir: auditDir }] },
      stages: [{ name: 'web', environment: 'staging', target: { type: 'command', deploy: ['seq', '-f', 'deploying: progress %g ..........', '1', '300000'] } }],
    });
    const heapBefore = process.memoryUsage().heapUsed;
    let peak = 0;
    let lines = 0;
    const outcome = await runWorkflow({
      loaded,
      store: new MemoryRunStore(),
      context: { actor: 'alice', ci: 'local' },
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      subscribers: [
        (e) => {
          if (e.kind !== 'step.output') return;
          lines += 1;
          if (lines % 10_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - heapBefore);
        },
      ],
    });
    expect(outcome.status).toBe('succeeded');
    expect(lines).toBe(300_000);
    // 300,000 entries held until the step ends would take several hundred MB.
    expect(peak).toBeLessThan(110 * 1024 * 1024);
    const file = join(auditDir, `${outcome.runId}.jsonl`);
    const entries = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEntry);
    expect(entries.filter((e) => e.kind === 'step.output')).toHaveLength(OUTPUT_LIMITS.lines);
    expect(entries.find((e) => e.kind === OMITTED_KIND)).toMatchObject({ stage: 'web', evidence: { values: { omittedLines: 290_000, recordedLines: 10_000 } } });
    expect(entries.at(-1)).toMatchObject({ kind: 'run.finished', outcome: 'succeeded' });
    expect(entries.some((e) => e.kind === 'step.succeeded')).toBe(true);
    expect(await verifyTrail([file])).toMatchObject({ ok: true, entries: entries.length });
  });
});
