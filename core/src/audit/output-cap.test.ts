import { describe, expect, it } from 'vitest';
import type { RunEvent, RunEventBody } from '../model/events.js';
import type { AuditContext, UnsealedEntry } from './entry.js';
import { OMITTED_KIND, OUTPUT_LIMITS, OutputCap } from './output-cap.js';

/* A step's output in the audit trail: the first lines, then one entry that counts the rest. */
const ctx: AuditContext = { workflow: 'web', context: { actor: 'alice', ci: 'local' }, environments: { web: 'staging', api: 'staging' } };

let seq = 0;
const ev = (body: RunEventBody): RunEvent => ({ seq: ++seq, time: new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString(), runId: 'web-1', ...body }) as RunEvent;
const out = (line: string, stage = 'web', step = 'deploy') => ev({ kind: 'step.output', stage, step, stream: 'stdout', line });

/** Feeds events through the cap; returns what the trail records, as `kind` or `kind:message`. */
function feed(cap: OutputCap, events: RunEvent[]): UnsealedEntry[] {
  return events.flatMap((e) => cap.admit(e, ctx));
}
const summary = (entries: UnsealedEntry[]) => entries.map((e) => (e.kind === 'step.output' ? `out:${e.message.split(' | ').pop()}` : e.kind));

describe('OutputCap', () => {
  it('keeps 10,000 lines or 16 MiB of output per step by default', () => {
    expect(OUTPUT_LIMITS).toEqual({ lines: 10_000, bytes: 16 * 1024 * 1024 });
  });

  it('records the first lines of a step, then one entry that counts the rest, before the step ends', () => {
    const cap = new OutputCap({ lines: 2, bytes: 1000 });
    const lines = [out('a'), out('b'), out('c'), out('dd'), out('eee')];
    const recorded = feed(cap, [ev({ kind: 'step.started', stage: 'web', step: 'deploy', action: 'deploy', attempt: 1 }), ...lines]);
    expect(summary(recorded)).toEqual(['step.started', 'out:a', 'out:b']);
    const end = feed(cap, [ev({ kind: 'step.succeeded', stage: 'web', step: 'deploy', durationMs: 1 })]);
    expect(summary(end)).toEqual([OMITTED_KIND, 'step.succeeded']);
    expect(end[0]).toMatchObject({
      kind: OMITTED_KIND,
      outcome: 'info',
      stage: 'web',
      step: 'deploy',
      // The note takes the place of the last line it counts: a seq no other entry has.
      eventSeq: lines[4]?.seq,
      ts: lines[4]?.time,
      message:
        'web/deploy: 3 more lines of output (6 B) not recorded in the audit trail, which keeps the first 2 lines or 1000 B of each step; the CI job log has the full output',
      evidence: { values: { omittedLines: 3, omittedBytes: 6, recordedLines: 2 } },
    });
  });

  it('counts bytes too, and writes sizes people can read', () => {
    const cap = new OutputCap({ lines: 100, bytes: 2048 });
    const recorded = feed(cap, [out('x'.repeat(2000)), out('y'.repeat(100)), out('z'.repeat(2 * 1024 * 1024)), ev({ kind: 'run.finished', status: 'succeeded', durationMs: 1 })]);
    expect(summary(recorded).slice(0, 2)).toEqual([`out:${'x'.repeat(2000)}`, OMITTED_KIND]);
    expect(recorded[1]?.message).toBe(
      'web/deploy: 2 more lines of output (2.0 MiB) not recorded in the audit trail, which keeps the first 100 lines or 2.0 KiB of each step; the CI job log has the full output',
    );
    const one = new OutputCap({ lines: 0, bytes: 10 });
    expect(feed(one, [out('q'), ev({ kind: 'stage.finished', stage: 'web', status: 'succeeded' })])[0]?.message).toMatch(/^web\/deploy: 1 more line of output \(1 B\)/);
  });

  it('gives a retried step its allowance again, and says nothing when nothing was left out', () => {
    const cap = new OutputCap({ lines: 1, bytes: 1000 });
    const start = (attempt: number) => ev({ kind: 'step.started', stage: 'web', step: 'deploy', action: 'deploy', attempt });
    const recorded = feed(cap, [start(1), out('a'), out('b'), ev({ kind: 'step.retrying', stage: 'web', step: 'deploy', attempt: 2, delayMs: 1, error: 'e' }), start(2), out('c'), out('d'), start(3), out('e')]);
    expect(summary(recorded)).toEqual(['step.started', 'out:a', OMITTED_KIND, 'step.retrying', 'step.started', 'out:c', OMITTED_KIND, 'step.started', 'out:e']);
    expect(summary(feed(cap, [ev({ kind: 'step.succeeded', stage: 'web', step: 'deploy', durationMs: 1 })]))).toEqual(['step.succeeded']);
  });

  it('keeps one allowance per step whatever else happens meanwhile: a monitor sample, another stage, another step', () => {
    const cap = new OutputCap({ lines: 2, bytes: 1000 });
    const recorded = feed(cap, [
      out('a'),
      ev({ kind: 'probes.measured', stage: 'web', snapshot: {} }),
      ev({ kind: 'weight.changed', stage: 'web', from: 0, to: 10 }),
      ev({ kind: 'stage.finished', stage: 'api', status: 'succeeded' }),
      ev({ kind: 'step.started', stage: 'web', step: 'verify', action: 'verify', attempt: 1 }),
      out('b'),
      out('c'),
      out('other', 'api', 'deploy'),
    ]);
    expect(summary(recorded)).toEqual(['out:a', 'probes.measured', 'weight.changed', 'stage.finished', 'step.started', 'out:b', 'out:other']);
    // The end of its stage brings the note out, and forgets the step.
    const end = feed(cap, [ev({ kind: 'stage.finished', stage: 'web', status: 'succeeded' }), out('again')]);
    expect(summary(end)).toEqual([OMITTED_KIND, 'stage.finished', 'out:again']);
  });

  it('notes what is left at the end of the run, for every step', () => {
    const cap = new OutputCap({ lines: 0, bytes: 1000 });
    const recorded = feed(cap, [out('a'), out('b', 'api', 'deploy'), ev({ kind: 'run.finished', status: 'succeeded', durationMs: 1 })]);
    expect(recorded.map((e) => [e.kind, e.stage])).toEqual([
      [OMITTED_KIND, 'web'],
      [OMITTED_KIND, 'api'],
      ['run.finished', undefined],
    ]);
  });
});
