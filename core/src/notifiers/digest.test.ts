import { describe, expect, it } from 'vitest';
import type { RunEvent, RunEventBody } from '../model/events.js';
import { sampleEvents } from '../testing/contracts/events.js';
import { MessageDigest } from './digest.js';
import { progressOf } from './render/facts.js';
import { applyTemplates, templatesField } from './templates.js';

let seq = 0;
const ev = (body: RunEventBody): RunEvent => ({ seq: ++seq, time: '2026-01-01T00:00:00.000Z', runId: 'r1', ...body }) as RunEvent;

function digestOf(bodies: RunEventBody[]): { digest: MessageDigest; last: RunEvent } {
  const digest = new MessageDigest();
  let last = ev({ kind: 'run.finished', status: 'succeeded', durationMs: 0 });
  for (const b of bodies) {
    last = ev(b);
    digest.apply(last);
  }
  return { digest, last };
}

const started: RunEventBody[] = [
  { kind: 'run.started', workflow: 'shop', context: { actor: 'alice', ci: 'github', commit: '0123456789abcdef0123', ref: 'refs/heads/main', runUrl: 'https://ci.example/run/7', commitUrl: 'https://forge.example/shop/commit/0123456789abcdef0123' }, inputs: {}, resumed: false },
  { kind: 'stage.started', stage: 'prod', environment: 'production', strategy: 'canary', version: '1.4.2', steps: 5, url: 'https://shop.example' },
];

describe('the run message built from events', () => {
  it('says what, where and who, and follows the progress: step n of m, the weight, from → to', () => {
    const { digest, last } = digestOf([
      ...started,
      { kind: 'step.started', stage: 'prod', step: 'set-weight-20', action: 'set-weight', attempt: 2, index: 2 },
      { kind: 'infra.changed', stage: 'prod', step: 'deploy', change: { object: 'shop', field: 'version', before: '1.4.1', after: '1.4.2' } },
      { kind: 'weight.changed', stage: 'prod', from: 0, to: 20 },
    ]);
    const m = digest.message(last);
    expect(m.title).toBe('shop: 1.4.1 → 1.4.2 to production (canary, 20%): in progress');
    expect(m.text).toBe('prod: weight 0% -> 20%');
    expect(m.severity).toBe('info');
    expect(m.final).toBe(false);
    expect(m.links).toEqual([
      { label: 'CI run', url: 'https://ci.example/run/7' },
      { label: 'commit 0123456', url: 'https://forge.example/shop/commit/0123456789abcdef0123' },
      { label: 'production', url: 'https://shop.example' },
    ]);
    expect(progressOf(m.stages[0] as NonNullable<(typeof m.stages)[0]>)).toBe('step 2 of 5 (set-weight-20, attempt 2), 20% of traffic');
    expect(m.trigger).toEqual({ kind: 'weight.changed', seq: last.seq, time: last.time });
  });

  it('keeps the latest value of each metric, formatted in its unit, with the condition and a count', () => {
    const { digest, last } = digestOf([
      ...started,
      { kind: 'analysis.measured', stage: 'prod', metric: 'error-rate', value: 0.01, condition: 'result < 0.05', verdict: 'succeeded', unit: 'ratio' },
      { kind: 'analysis.measured', stage: 'prod', metric: 'error-rate', value: 0.029286442329757845, condition: 'result < 0.05', verdict: 'succeeded', unit: 'ratio' },
      { kind: 'analysis.measured', stage: 'prod', metric: 'p99', value: null, condition: 'result < 300', verdict: 'inconclusive', message: 'no data: the query matched no series' },
    ]);
    expect(digest.message(last).stages[0]?.analyses).toEqual([
      { metric: 'error-rate', value: '2.93%', condition: 'result < 0.05', verdict: 'succeeded', count: 2 },
      { metric: 'p99', value: 'no data', condition: 'result < 300', verdict: 'inconclusive', count: 1, note: 'no data: the query matched no series' },
    ]);
  });

  it('says why a step failed with the last lines it printed, and what rollgate did about it', () => {
    const output = Array.from({ length: 12 }, (_, i) => ({ kind: 'step.output', stage: 'prod', step: 'deploy', stream: 'stdout', line: `line ${i + 1}` }) as const);
    const { digest, last } = digestOf([
      ...started,
      { kind: 'step.started', stage: 'prod', step: 'deploy', action: 'deploy', attempt: 1, index: 1 },
      ...output,
      { kind: 'step.failed', stage: 'prod', step: 'deploy', error: 'exit code 3', errorKind: 'ProviderError' },
      { kind: 'rollback.started', stage: 'prod', reason: 'deploy failed', steps: 1 },
    ]);
    const m = digest.message(last);
    expect(m.stages[0]?.failure).toEqual({ step: 'deploy', reason: 'exit code 3', output: ['line 5', 'line 6', 'line 7', 'line 8', 'line 9', 'line 10', 'line 11', 'line 12'] });
    expect(m.stages[0]?.rollback).toEqual({ reason: 'deploy failed', state: 'running', remaining: [] });
    expect(m.title).toBe('shop: 1.4.2 to production (canary): rolling back');
    expect(m.severity).toBe('warning');
  });

  it('says who may approve a gate and how, and how to finish a manual intervention', () => {
    const { digest, last } = digestOf([
      ...started,
      { kind: 'approval.requested', stage: 'prod', gate: 'prod', approver: 'github-environment', message: 'Ship 1.4.2?', version: '1.4.2', environment: 'production' },
      { kind: 'run.paused', stage: 'prod', gate: 'prod', message: 'approve prod (1.4.2 to production): rollgate resume --state .rollgate/run.json --approve (or --reject)' },
    ]);
    const m = digest.message(last);
    expect(m.title).toBe('shop: 1.4.2 to production (canary): waiting for approval');
    expect(m.approval?.how).toBe('approve prod (1.4.2 to production): rollgate resume --state .rollgate/run.json --approve (or --reject), or approve the production deployment in github');
    const after = digestOf([...started, { kind: 'manual-intervention.required', stage: 'prod', remaining: ['route/shop'], instructions: ['send traffic back to 1.4.1'] }]);
    expect(after.digest.message(after.last).manual).toEqual({
      stage: 'prod',
      remaining: ['route/shop'],
      instructions: ['send traffic back to 1.4.1'],
      how: `finish what is left by hand, then run 'rollgate resume --resolved "what you did"' with this run's journal`,
    });
  });

  it('is kept as JSON: a later process continues the same message', () => {
    const events = sampleEvents();
    const first = new MessageDigest();
    for (const e of events.slice(0, 6)) first.apply(e);
    const later = new MessageDigest(JSON.parse(JSON.stringify(first.toJSON())));
    for (const e of events.slice(6)) later.apply(e);
    const m = later.message(events.at(-1) as RunEvent);
    expect(m.context.actor).toBe('alice');
    expect(m.title).toBe('web: v1 → v2 to production (canary): rolled back');
    expect(m.severity).toBe('danger');
    expect(m.final).toBe(true);
    expect(new MessageDigest({ not: 'a digest' }).toJSON().stages).toEqual({});
  });

  it('shows a skipped stage with its reason and a stage that succeeded', () => {
    const { digest, last } = digestOf([
      ...started,
      { kind: 'stage.finished', stage: 'prod', status: 'succeeded' },
      { kind: 'stage.skipped', stage: 'eu', reason: 'when: probes.eu.ok is false' },
      { kind: 'run.finished', status: 'succeeded', durationMs: 1000 },
    ]);
    const m = digest.message(last);
    expect(m.stages.map((s) => [s.name, s.status, s.note])).toEqual([
      ['prod', 'succeeded', undefined],
      ['eu', 'skipped', 'when: probes.eu.ok is false'],
    ]);
    expect(m.severity).toBe('success');
    expect(m.title).toBe('shop: 1.4.2 to production (canary): succeeded');
  });
});

describe('templates: the workflow’s own wording', () => {
  const field = templatesField();
  const { digest, last } = digestOf([...started, { kind: 'rollback.started', stage: 'prod', reason: 'error-rate 12% > 5%', steps: 2 }]);

  it('fill safe placeholders in the title and in the sentence of an event kind', () => {
    const templates = field.parse({
      title: '{{ workflow }} {{ version }} → {{ environment }} ({{ status }})',
      'rollback.started': ':rotating_light: {{ stage }} rolls back because {{ reason }} (by {{ actor }}, {{ commit }})',
    });
    const m = applyTemplates(digest.message(last), last, templates);
    expect(m.title).toBe('shop 1.4.2 → production (running)');
    expect(m.text).toBe(':rotating_light: prod rolls back because error-rate 12% > 5% (by alice, 0123456789abcdef0123)');
    const untouched = digest.message(last);
    expect(applyTemplates(untouched, last, {})).toBe(untouched);
  });

  it('refuses a placeholder rollgate does not fill and a key that is not a kind, naming them', () => {
    expect(() => field.parse({ title: '{{ secrets.TOKEN }}' })).toThrow(/'\{\{ secrets\.TOKEN \}\}' is not a placeholder rollgate fills; use \{\{ workflow \}\}/);
    expect(() => field.parse({ 'rollback.begun': 'x' })).toThrow(/'rollback\.begun' is not 'title' or an event kind/);
    expect(field.parse(undefined)).toEqual({});
  });
});
