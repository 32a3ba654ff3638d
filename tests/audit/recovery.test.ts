import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CUT_SHORT_MESSAGE, verifyTrail } from '../../core/src/audit/verify.js';
import { runCli, type CliIO } from '../../core/src/cli/cli.js';
import { parseWorkflow, type LoadedWorkflow } from '../../core/src/definition/load.js';
import { resumeRun, runWorkflow } from '../../core/src/engine/executor.js';
import { FileRunStore } from '../../core/src/engine/file-run-store.js';
import { createVirtualClock } from '../../core/src/clocks/virtual.js';

/*
 * The normal recovery path: a process dies while appending to the audit trail, leaving half a
 * line, and `resume` carries the run on into the same file. The trail must verify, and show the
 * torn line for what it is, never as tampering.
 */
let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rollgate-audit-recovery-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function load(doc: Record<string, unknown>): LoadedWorkflow {
  const text = stringify(doc);
  const result = parseWorkflow(text, 'gated.yml');
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return { workflow: result.workflow, path: join(root, 'gated.yml'), dir: root, text, sha256: createHash('sha256').update(text).digest('hex'), warnings: result.warnings };
}

async function verifyCli(file: string) {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { out: { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) }, env: {}, color: false, installSignals: () => {} };
  const code = await runCli(['audit', 'verify', file], io);
  return { code, stdout, stderr };
}

describe('an audit trail torn by a crash, then resumed', () => {
  it('verifies, with the torn line reported as cut short by a crash, and not one byte before it rewritten', async () => {
    const auditDir = join(root, 'audit');
    const loaded = load({
      version: 1,
      name: 'gated',
      inputs: { version: { default: 'v2' } },
      environments: { production: {} },
      sim: { services: { web: { version: 'v1' } } },
      audit: { sinks: [{ type: 'file', dir: auditDir }] },
      stages: [{ name: 'web', environment: 'production', target: { type: 'sim', service: 'web' }, approval: { type: 'manual' } }],
    });
    const store = new FileRunStore(join(root, 'state.json'));
    const first = await runWorkflow({ loaded, store, context: { actor: 'alice', ci: 'local' }, clock: createVirtualClock(Date.UTC(2026, 0, 1)) });
    expect(first.status).toBe('paused');
    const trail = join(auditDir, `${first.runId}.jsonl`);
    const whole = await readFile(trail, 'utf8');
    const lines = whole.trim().split('\n').length;
    // The process died while appending its next batch: half an entry, no newline.
    const torn = `{"format":"rollgate/audit@1","seq":${lines + 1},"ts":"2026-01-01T00:`;
    await appendFile(trail, torn);

    const second = await resumeRun({
      loaded,
      store,
      context: { actor: 'bob', ci: 'local' },
      decision: { approve: true, by: 'bob' },
      clock: createVirtualClock(Date.UTC(2026, 0, 1, 1)),
    });
    expect(second.status).toBe('succeeded');

    const text = await readFile(trail, 'utf8');
    expect(text.startsWith(`${whole}${torn}\n`)).toBe(true);
    const result = await verifyTrail([trail]);
    expect(result.ok).toBe(true);
    expect(result.torn).toEqual([{ file: trail, line: lines + 1, message: CUT_SHORT_MESSAGE }]);
    expect(await verifyCli(trail)).toEqual({
      code: 0,
      stdout: `intact: ${result.entries} entries in 1 file(s); every hash matches its entry and links to the one before\n`,
      stderr: `warning: ${trail}:${lines + 1}: cut short by a crash; the chain continues intact after it (not an entry; nothing is missing from the chain)\n`,
    });
  });
});
