import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseWorkflow, type LoadedWorkflow } from '../../core/src/definition/load.js';
import { resumeRun, runWorkflow, type ResumeOptions, type RunOptions } from '../../core/src/engine/executor.js';
import { MemoryRunStore } from '../../core/src/engine/memory-run-store.js';
import type { Change, EventOf, RunEvent, RunEventKind } from '../../core/src/model/events.js';
import type { RunJournal } from '../../core/src/model/journal.js';
import { createVirtualClock } from '../../core/src/clocks/virtual.js';

/*
 * Shared fixtures of the failure-scenario tests: a workflow on the simulated infrastructure built
 * from a small object, a run through the library on a virtual clock with every event collected,
 * and helpers that turn the events into a readable trail ("what happened, in order").
 */

/** Where the scenario runs start on the virtual clock. */
export const T0 = Date.UTC(2026, 0, 1);
export const AUDIT_DIR = join(tmpdir(), 'rollgate-scenario-audit');

/** A workflow on the simulated infrastructure; `doc` overrides the defaults at the top level. */
export function load(doc: Record<string, unknown>): LoadedWorkflow {
  const text = stringify({
    version: 1,
    name: 'web',
    inputs: { version: { default: 'v2' } },
    environments: { production: {} },
    audit: { sinks: [{ type: 'file', dir: AUDIT_DIR }] },
    ...doc,
  });
  const result = parseWorkflow(text, 'scenario.yml');
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return { workflow: result.workflow, path: '/tmp/scenario.yml', dir: '/tmp', text, sha256: createHash('sha256').update(text).digest('hex'), warnings: result.warnings };
}

/** One stage deploying the sim service `web` in production; `extra` adds or overrides fields. */
export function stage(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, environment: 'production', target: { type: 'sim', service: 'web' }, ...extra };
}

/** An inline metric on the candidate's error rate: one sample is enough to decide. */
export function candidateErrors(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'candidate-errors', query: 'candidate-error-rate', successCondition: 'result < 0.05', interval: '30s', count: 1, ...extra };
}

export interface Ran {
  outcome: Awaited<ReturnType<typeof runWorkflow>>;
  events: RunEvent[];
  store: MemoryRunStore;
  kinds: RunEventKind[];
}

const context = { actor: 'alice', ci: 'local' as const };

/** Runs a workflow through the library on a fresh virtual clock, collecting every event. */
export async function run(loaded: LoadedWorkflow, extra: Partial<RunOptions> = {}): Promise<Ran> {
  const events: RunEvent[] = [];
  const store = (extra.store as MemoryRunStore | undefined) ?? new MemoryRunStore();
  const outcome = await runWorkflow({
    loaded,
    store,
    context,
    clock: createVirtualClock(T0),
    ...extra,
    subscribers: [(e) => events.push(e), ...(extra.subscribers ?? [])],
  });
  return { outcome, events, store, kinds: events.map((e) => e.kind) };
}

/** Resumes a run from `store`, collecting the events of the resumed part. */
export async function resume(loaded: LoadedWorkflow, store: MemoryRunStore, extra: Partial<ResumeOptions> = {}): Promise<Omit<Ran, 'store'>> {
  const events: RunEvent[] = [];
  const outcome = await resumeRun({
    loaded,
    store,
    context: { actor: 'bob', ci: 'local' },
    ...extra,
    subscribers: [(e) => events.push(e), ...(extra.subscribers ?? [])],
  });
  return { outcome, events, kinds: events.map((e) => e.kind) };
}

/** The events of one kind, typed. */
export function ofKind<K extends RunEventKind>(events: RunEvent[], kind: K): EventOf<K>[] {
  return events.filter((e): e is EventOf<K> => e.kind === kind);
}

/** Every infrastructure change, in order. */
export function changes(events: RunEvent[]): Change[] {
  return ofKind(events, 'infra.changed').map((e) => e.change);
}

/** A change as one line: `service/web.candidate: null -> v2`. */
export function changeLine(c: Change): string {
  return `${c.object}.${c.field}: ${String(c.before)} -> ${String(c.after)}`;
}

/**
 * One event as a short label carrying what matters about it, so an ordered trail reads like the
 * story of the run: `analysis.measured:failed`, `step.failed:analysis@2`, `stage.finished:rolled-back`.
 */
export function label(e: RunEvent): string {
  switch (e.kind) {
    case 'analysis.measured':
      return `analysis.measured:${e.verdict}`;
    case 'step.started':
    case 'step.succeeded':
    case 'step.failed':
      return `${e.kind}:${e.step}`;
    case 'stage.finished':
      return `stage.finished:${e.status}`;
    case 'run.finished':
      return `run.finished:${e.status}`;
    case 'weight.changed':
      return `weight.changed:${e.from}->${e.to}`;
    case 'decision.made':
      return `decision.made:${e.decision}`;
    case 'infra.changed':
      return `infra.changed:${changeLine(e.change)}`;
    case 'rollback.step':
      return `rollback.step:${e.ok ? 'ok' : 'failed'}`;
    case 'rollback.finished':
      return `rollback.finished:${e.complete ? 'complete' : 'incomplete'}`;
    default:
      return e.kind;
  }
}

/** The labels of the events whose kind is in `kinds`, in order. */
export function trail(events: RunEvent[], kinds: RunEventKind[]): string[] {
  return events.filter((e) => kinds.includes(e.kind)).map(label);
}

/** The virtual time of an event in milliseconds since the run started. */
export function at(e: RunEvent, start = T0): number {
  return Date.parse(e.time) - start;
}

/** The first event that matches, or a clear failure. */
export function first<K extends RunEventKind>(events: RunEvent[], kind: K, where: (e: EventOf<K>) => boolean = () => true): EventOf<K> {
  const found = ofKind(events, kind).find(where);
  if (!found) throw new Error(`no ${kind} event${where.toString() === '() => true' ? '' : ' matching the condition'}; kinds: ${events.map((e) => e.kind).join(', ')}`);
  return found;
}

/** The stage records of a journal by name, with only the fields the scenarios compare. */
export function stageStatuses(journal: RunJournal): Record<string, string> {
  return Object.fromEntries(Object.entries(journal.stages).map(([name, r]) => [name, r.status]));
}

/** The simulated service `name` as the journal saved it (after the run), for asserting the end state. */
export function savedService(journal: RunJournal, service = 'web', environment = 'production'): Record<string, unknown> | undefined {
  const world = journal.providers?.[`sim@${environment}`] as { services?: Record<string, Record<string, unknown>> } | undefined;
  return world?.services?.[service];
}
