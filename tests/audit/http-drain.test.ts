import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { AuditEntry } from '../../core/src/audit/entry.js';
import { parseWorkflow, type LoadedWorkflow } from '../../core/src/definition/load.js';
import { runWorkflow } from '../../core/src/engine/executor.js';
import { MemoryRunStore } from '../../core/src/engine/memory-run-store.js';
import type { RunEvent } from '../../core/src/model/events.js';
import { createVirtualClock } from '../../core/src/clocks/virtual.js';

/*
 * A run whose http audit collector is rate-limiting it (429, Retry-After: 20 s on every request):
 * the run ends after at most the sink's drainTimeout, not after retries that grow with the run,
 * and says how many entries were left undelivered and in which file they are kept.
 */
let root: string;
const servers: Server[] = [];
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rollgate-audit-drain-'));
});
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await rm(root, { recursive: true, force: true });
});

async function rateLimited() {
  let requests = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests += 1;
      res.writeHead(429, { 'retry-after': '20' }).end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`, requests: () => requests };
}

function load(doc: Record<string, unknown>): LoadedWorkflow {
  const text = stringify(doc);
  const result = parseWorkflow(text, 'drain.yml');
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return { workflow: result.workflow, path: join(root, 'drain.yml'), dir: root, text, sha256: createHash('sha256').update(text).digest('hex'), warnings: result.warnings };
}

describe('a run with a rate-limited http audit collector', () => {
  it('ends at the drain deadline and keeps every undelivered entry in a spool file the warning names', async () => {
    const collector = await rateLimited();
    const spoolDir = join(root, 'spool');
    const loaded = load({
      version: 1,
      name: 'web',
      inputs: { version: { default: 'v2' } },
      environments: { staging: {} },
      sim: { services: { web: { version: 'v1' } } },
      audit: { sinks: [{ type: 'file', dir: join(root, 'audit') }, { type: 'http', url: collector.url, drainTimeout: '300ms', spoolDir }] },
      stages: [{ name: 'web', environment: 'staging', target: { type: 'sim', service: 'web' } }],
    });
    const events: RunEvent[] = [];
    const warnings: string[] = [];
    const outcome = await runWorkflow({
      loaded,
      store: new MemoryRunStore(),
      context: { actor: 'alice', ci: 'local' },
      clock: createVirtualClock(Date.UTC(2026, 0, 1)),
      subscribers: [(e) => events.push(e)],
      onWarning: (w) => warnings.push(w),
    });
    expect(outcome.status).toBe('succeeded');
    expect(collector.requests()).toBeGreaterThan(0);
    const spool = join(spoolDir, `${outcome.runId}.undelivered.jsonl`);
    expect(warnings).toEqual([
      `audit.sinks[1] (http): ${events.length} entries could not be delivered (answered 429, then stopped at the drain deadline (1 attempt)); they are kept in ${spool}`,
    ]);
    const kept = (await readFile(spool, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEntry);
    expect(kept.map((e) => e.eventSeq)).toEqual(events.map((e) => e.seq));
  });
});
