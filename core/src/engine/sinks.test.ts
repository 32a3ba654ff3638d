import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../audit/entry.js';
import { UsageError } from '../errors.js';
import { fakeDeps } from '../testing/fakes.js';
import { MemoryProviderStates } from '../testing/state.js';
import { loadTestWorkflow } from '../testing/workflows.js';
import { EventBus } from './event-bus.js';
import { createRealClock } from '../clocks/real.js';
import type { RunSession } from './run-session.js';
import { attachSinks, type AuditTuning } from './sinks.js';

/*
 * attachSinks: the audit sinks of a workflow, checked before the run (`ready`), fed with its
 * events, drained at its end, and what they could not record (`auditIncomplete`).
 */
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-sinks-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Just what attachSinks uses of a session: the workflow, the journal, the bus, provider deps, the save and close hooks. */
function attach(audit: Record<string, unknown>, tuning: AuditTuning = {}) {
  const { workflow } = loadTestWorkflow({ audit, stages: [{ name: 'web', environment: 'staging', target: { type: 'sim', service: 'web' } }] });
  const savers: (() => Promise<void>)[] = [];
  const closers: (() => Promise<void>)[] = [];
  const bus = new EventBus('web-1', createRealClock(), (s) => s);
  const session = {
    workflow,
    journal: { runId: 'web-1', seq: 0, context: { actor: 'alice', ci: 'local' }, stages: { web: { environment: 'staging' } } },
    env: {},
    bus,
    providers: { deps: (environment: string, log: never) => fakeDeps({ runId: 'web-1', environment, log }), states: new MemoryProviderStates() },
    writer: {
      onSave: (fn: () => Promise<void>) => savers.push(fn),
      onClose: (fn: () => Promise<void>) => closers.push(fn),
    },
  } as unknown as RunSession;
  const warnings: string[] = [];
  const attached = attachSinks(session, (w) => warnings.push(w), () => {}, tuning);
  const save = () => Promise.all(savers.map((fn) => fn()));
  const close = async () => {
    for (const fn of closers) await fn();
  };
  return { attached, warnings, bus, save, close };
}

const rejection = async (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as Error,
  );

describe('attachSinks', () => {
  it('is ready when every sink can write, records every event, and says at the end that the trail is complete', async () => {
    const { attached, bus, save, close, warnings } = attach({ sinks: [{ type: 'file', dir }] });
    await attached.ready;
    bus.emit({ kind: 'stage.started', stage: 'web', environment: 'staging', strategy: 'direct', version: 'v2' });
    await save();
    bus.emit({ kind: 'run.finished', status: 'succeeded', durationMs: 1 });
    await close();
    const entries = (await readFile(join(dir, 'web-1.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEntry);
    expect(entries.map((e) => e.kind)).toEqual(['stage.started', 'run.finished']);
    expect(warnings).toEqual([]);
    expect(attached.auditIncomplete).toEqual([]);
  });

  it('is not ready when the audit folder cannot be written: names the sink, the file, the cause and how to fix it', async () => {
    const blocked = join(dir, 'blocked');
    await writeFile(blocked, '');
    const { attached } = attach({ sinks: [{ type: 'file', dir: blocked }] });
    const err = await rejection(attached.ready);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toBe(
      'the audit trail cannot be written, so the run was not started:\n' +
        `  - audit.sinks[0] (file): audit file ${join(blocked, 'web-1.jsonl')}: cannot be written: EEXIST: file already exists, mkdir '${blocked}'. ` +
        `Make ${blocked} writable, choose another audit.sinks[0].dir, or set audit.sinks[0].bestEffort: true to run without it`,
    );
  });

  it('names the spool folder of an http sink, and lets a best-effort sink fail with a warning', async () => {
    const taken = join(dir, 'taken');
    await writeFile(taken, '');
    const http = { type: 'http', url: 'http://127.0.0.1:9/in', spoolDir: taken };
    expect((await rejection(attach({ sinks: [http] }).attached.ready)).message).toMatch(
      new RegExp(`Make ${taken} writable, choose another audit\\.sinks\\[0\\]\\.spoolDir, or set audit\\.sinks\\[0\\]\\.bestEffort: true to run without it$`),
    );
    const best = attach({ sinks: [{ type: 'file', dir: taken, bestEffort: true }, { type: 'stdout' }] });
    await best.attached.ready;
    expect(best.warnings).toEqual([
      `audit.sinks[0] (file) is best-effort and cannot be written, so the run goes on without it: audit file ${join(taken, 'web-1.jsonl')}: cannot be written: EEXIST: file already exists, mkdir '${taken}'`,
    ]);
  });

  it('says at the end what a sink that is not best-effort failed to record', async () => {
    const blocked = join(dir, 'blocked');
    await writeFile(blocked, '');
    const { attached, bus, save, close, warnings } = attach({ sinks: [{ type: 'file', dir: blocked }] });
    await rejection(attached.ready);
    bus.emit({ kind: 'run.finished', status: 'succeeded', durationMs: 1 });
    await save();
    await close();
    expect(attached.auditIncomplete).toEqual([expect.stringMatching(/^audit\.sinks\[0\] \(file\): 1 entry could not be written and is lost \(audit file .*: write failed: EEXIST/)]);
    expect(warnings.at(-1)).toBe(attached.auditIncomplete[0]);
  });

  it('gives the drain as long as the most patient http sink asks, and 10 s at least', async () => {
    const timers: number[] = [];
    const timer = (ms: number) => {
      timers.push(ms);
      return AbortSignal.abort();
    };
    await attach({ sinks: [{ type: 'file', dir }] }, { timer }).close();
    const slow = { type: 'http', url: 'http://127.0.0.1:9/in', drainTimeout: '45s', spoolDir: dir };
    await attach({ sinks: [{ type: 'file', dir }, slow] }, { timer }).close();
    expect(timers).toEqual([10_000, 45_000]);
  });
});
