import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import type { RunEvent, RunEventBody } from '../model/events.js';
import type { AuditDrainReport, AuditSink } from '../ports/audit-sink.js';
import { fakeDeps } from '../testing/fakes.js';
import type { AuditContext, AuditEntry, UnsealedEntry } from './entry.js';
import { configSchema, create } from './file.js';
import { OMITTED_KIND, OUTPUT_LIMITS } from './output-cap.js';
import { AuditPipeline, DRAIN_MS, FLUSH_EVERY, type AuditPipelineOptions, type PipelineSink } from './pipeline.js';
import { verifyTrail } from './verify.js';

/*
 * Run events to audit sinks: checked before the run, flushed while a step runs, bounded at the
 * end, and never holding more than a step's allowance of output in memory.
 */
const context = (): AuditContext => ({ workflow: 'web', context: { actor: 'alice', ci: 'local' }, environments: { web: 'staging' } });
let seq = 0;
const ev = (body: RunEventBody): RunEvent => ({ seq: ++seq, time: '2026-01-01T00:00:00.000Z', runId: 'web-1', ...body }) as RunEvent;
const out = (line: string) => ev({ kind: 'step.output', stage: 'web', step: 'deploy', stream: 'stdout', line });
const tick = () => new Promise((r) => setImmediate(r));

/** A sink that keeps what it is given; its behaviour is the test's to set. */
function fakeSink(behaviour: { open?: () => Promise<void>; flush?: () => Promise<void>; close?: () => Promise<AuditDrainReport>; type?: string } = {}) {
  const recorded: UnsealedEntry[] = [];
  const flushes: number[] = [];
  let queued = 0;
  const sink: AuditSink = {
    type: behaviour.type ?? 'fake',
    open: behaviour.open ?? (async () => {}),
    record(entry) {
      recorded.push(entry);
      queued += 1;
    },
    get queued() {
      return queued;
    },
    async flush() {
      const taking = queued;
      flushes.push(taking);
      await behaviour.flush?.();
      queued -= taking;
    },
    close: behaviour.close ?? (async () => ({ undelivered: 0, dropped: 0 })),
  };
  return { sink, recorded, flushes };
}

function pipeline(sinks: PipelineSink[], extra: Partial<AuditPipelineOptions> = {}) {
  const warnings: string[] = [];
  const timers: number[] = [];
  const p = new AuditPipeline({
    sinks,
    context: context(),
    onWarning: (w) => warnings.push(w),
    timer: (ms) => {
      timers.push(ms);
      return new AbortController().signal;
    },
    ...extra,
  });
  return { p, warnings, timers };
}

const at = (sink: AuditSink, i = 0, more: Partial<PipelineSink> = {}): PipelineSink => ({ sink, path: `audit.sinks[${i}]`, bestEffort: false, ...more });

describe('AuditPipeline: before the run', () => {
  it('resolves when every sink can write', async () => {
    await expect(pipeline([at(fakeSink().sink)]).p.open()).resolves.toBeUndefined();
  });

  it('refuses to start with every sink that cannot write, naming it, its destination, the cause and the fix', async () => {
    const cannot = (message: string) => fakeSink({ open: () => Promise.reject(new Error(message)) }).sink;
    const { p } = pipeline([
      at(cannot("audit file /w/.rollgate/audit/web-1.jsonl: cannot be written: EACCES: permission denied, open '/w/.rollgate/audit/web-1.jsonl'"), 0, {
        fix: 'make /w/.rollgate/audit writable, choose another audit.sinks[0].dir',
      }),
      at(fakeSink().sink, 1),
      at(cannot('it is broken'), 2),
    ]);
    const err = await p.open().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(
      'the audit trail cannot be written, so the run was not started:\n' +
        "  - audit.sinks[0] (fake): audit file /w/.rollgate/audit/web-1.jsonl: cannot be written: EACCES: permission denied, open '/w/.rollgate/audit/web-1.jsonl'. " +
        'Make /w/.rollgate/audit writable, choose another audit.sinks[0].dir, or set audit.sinks[0].bestEffort: true to run without it\n' +
        '  - audit.sinks[2] (fake): it is broken. Set audit.sinks[2].bestEffort: true to run without it',
    );
  });

  it('warns about a best-effort sink that cannot write, and goes on', async () => {
    const { p, warnings } = pipeline([at(fakeSink({ open: () => Promise.reject(new Error('EROFS: read-only file system')) }).sink, 0, { bestEffort: true })]);
    await p.open();
    expect(warnings).toEqual(['audit.sinks[0] (fake) is best-effort and cannot be written, so the run goes on without it: EROFS: read-only file system']);
  });
});

describe('AuditPipeline: during the run', () => {
  it('flushes while a step runs once enough entries wait, not only at journal writes', async () => {
    const f = fakeSink();
    const { p } = pipeline([at(f.sink)], { flushEvery: { entries: 10, bytes: 1 << 30 } });
    for (let i = 0; i < 35; i++) {
      p.record(out(`line ${i}`));
      await tick();
    }
    expect(f.flushes).toEqual([10, 10, 10]);
    expect(p.queued).toBe(5);
    expect(FLUSH_EVERY).toEqual({ entries: 1000, bytes: 1 << 20 });
  });

  it('flushes by size too', async () => {
    const f = fakeSink();
    const { p } = pipeline([at(f.sink)], { flushEvery: { entries: 1000, bytes: 3000 } });
    for (let i = 0; i < 4; i++) {
      p.record(out('x'.repeat(1000)));
      await tick();
    }
    expect(f.flushes).toEqual([3]);
  });

  it('keeps one flush in flight per sink: entries that come meanwhile go with the next one', async () => {
    let release: () => void = () => {};
    const held = fakeSink({ flush: () => new Promise<void>((r) => (release = r)) });
    const { p } = pipeline([at(held.sink)], { flushEvery: { entries: 10, bytes: 1 << 30 } });
    for (let i = 0; i < 30; i++) p.record(out(`line ${i}`));
    expect(held.flushes).toEqual([10]);
    release();
    await tick();
    expect(held.flushes).toEqual([10, 20]);
    release();
    await tick();
    expect(held.flushes).toEqual([10, 20]);
    expect(held.sink.queued).toBe(0);
  });

  it('warns once per sink about failed flushes, in the background or awaited', async () => {
    const failing = fakeSink({ type: 'http', flush: () => Promise.reject(new Error('audit http https://h/in: answered 500 (4 attempts)')) });
    const { p, warnings } = pipeline([at(failing.sink)]);
    p.record(out('a'));
    p.flushInBackground();
    await tick();
    await p.flush();
    expect(warnings).toEqual(['audit sink http failed: audit http https://h/in: answered 500 (4 attempts)']);
  });

  it('leaves a flush that fails once the run is closing to the drain report, which says it once', async () => {
    let fail: (err: Error) => void = () => {};
    const held = fakeSink({ flush: () => new Promise<void>((_, reject) => (fail = reject)) });
    const { p, warnings } = pipeline([at(held.sink)]);
    p.record(out('a'));
    p.flushInBackground();
    const closing = p.close();
    fail(new Error('stopped at the drain deadline'));
    await closing;
    await tick();
    expect(warnings).toEqual([]);
  });

  it('names whoever resumed the run in the entries after run.started', () => {
    const f = fakeSink();
    const { p } = pipeline([at(f.sink)]);
    p.record(ev({ kind: 'run.started', workflow: 'web', context: { actor: 'bob', ci: 'github' }, inputs: {}, resumed: true }));
    p.record(ev({ kind: 'stage.finished', stage: 'web', status: 'succeeded' }));
    expect(f.recorded.map((e) => [e.actor, e.ci.platform])).toEqual([
      ['bob', 'github'],
      ['bob', 'github'],
    ]);
  });

  it('does nothing without sinks', async () => {
    const { p } = pipeline([]);
    p.record(out('a'));
    expect(p.queued).toBe(0);
    await p.flush();
    await p.close();
    expect(p.incomplete).toEqual([]);
  });
});

describe('AuditPipeline: the end of the run', () => {
  it('drains every sink under one deadline and says what each did not deliver; only sinks that are not best-effort make the trail incomplete', async () => {
    const reports: AuditDrainReport[] = [
      { undelivered: 0, dropped: 0 },
      { undelivered: 12, dropped: 0, keptIn: '/w/.rollgate/audit/web-1.undelivered.jsonl', error: 'answered 429, then stopped at the drain deadline (1 attempt)' },
      { undelivered: 1, dropped: 3, error: 'ENOSPC: no space left on device' },
      { undelivered: 1, dropped: 1, keptIn: '/spool.jsonl', error: 'answered 503 (1 attempt)' },
    ];
    const sinks = reports.map((r, i) => at(fakeSink({ close: async () => r, type: ['file', 'http', 'stdout', 'http'][i] as string }).sink, i, { bestEffort: i === 2 }));
    const { p, warnings, timers } = pipeline(sinks);
    await p.close();
    expect(timers).toEqual([DRAIN_MS]);
    expect(DRAIN_MS).toBe(10_000);
    expect(warnings).toEqual([
      'audit.sinks[1] (http): 12 entries could not be delivered (answered 429, then stopped at the drain deadline (1 attempt)); they are kept in /w/.rollgate/audit/web-1.undelivered.jsonl',
      'audit.sinks[2] (stdout): 1 entry could not be written and is lost (ENOSPC: no space left on device); 3 entries were dropped during the run, while the destination could not take them',
      'audit.sinks[3] (http): 1 entry could not be delivered (answered 503 (1 attempt)); it is kept in /spool.jsonl; 1 entry was dropped during the run, while the destination could not take them',
    ]);
    expect(p.incomplete).toEqual([warnings[0], warnings[2]]);
  });

  it('waits as long as it is told, and not at all once told to stop', async () => {
    const { p, timers } = pipeline([at(fakeSink().sink)], { drainMs: 60_000 });
    await p.close();
    expect(timers).toEqual([60_000]);
    const seen: boolean[] = [];
    const stop = new AbortController();
    const watching = fakeSink({ close: async () => ({ undelivered: 0, dropped: 0 }) }).sink;
    watching.close = async (deadline) => {
      seen.push(deadline.aborted);
      stop.abort();
      seen.push(deadline.aborted);
      return { undelivered: 0, dropped: 0 };
    };
    await pipeline([at(watching)], { stop: stop.signal }).p.close();
    expect(seen).toEqual([false, true]);
  });
});

describe('a chatty step', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rollgate-chatty-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('300,000 lines of output: memory stays bounded, the trail keeps the first lines and counts the rest, and verifies', async () => {
    const sink = create(configSchema.parse({ type: 'file', dir }), fakeDeps({ runId: 'web-1' }));
    const { p } = pipeline([at(sink)], { timer: () => new AbortController().signal });
    await p.open();
    const heapBefore = process.memoryUsage().heapUsed;
    let most = 0;
    p.record(ev({ kind: 'step.started', stage: 'web', step: 'deploy', action: 'deploy', attempt: 1 }));
    for (let i = 0; i < 300_000; i++) {
      p.record(out(`deploying: progress line ${i} ${'.'.repeat(80)}`));
      most = Math.max(most, p.queued);
      // A command's output comes in chunks, between which the event loop turns.
      if (i % 500 === 0) await tick();
    }
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    p.record(ev({ kind: 'step.succeeded', stage: 'web', step: 'deploy', durationMs: 1 }));
    p.record(ev({ kind: 'run.finished', status: 'succeeded', durationMs: 1 }));
    await p.close();
    expect(most).toBeLessThanOrEqual(OUTPUT_LIMITS.lines + 2);
    // 300,000 entries held at once would take hundreds of MB.
    expect(heapGrowth).toBeLessThan(64 * 1024 * 1024);
    const file = join(dir, 'web-1.jsonl');
    const kinds = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEntry);
    expect(kinds).toHaveLength(OUTPUT_LIMITS.lines + 4);
    expect(kinds.at(-3)).toMatchObject({ kind: OMITTED_KIND, evidence: { values: { omittedLines: 290_000, recordedLines: 10_000 } } });
    expect(await verifyTrail([file])).toMatchObject({ ok: true, entries: OUTPUT_LIMITS.lines + 4 });
    expect(p.incomplete).toEqual([]);
  });
});
