import type { RunJournal } from '../model/journal.js';
import type { Clock } from '../ports/clock.js';
import { EventBus } from './event-bus.js';
import type { ResumeOptions, RunOptions } from './run-options.js';
import { RunSession } from './run-session.js';
import { attachSinks, type AttachedSinks } from './sinks.js';

/**
 * The session of a run or a resume: its event bus (masking every event), the subscribers, the
 * notifiers and the audit sinks. Warnings are masked too: they quote provider errors, which may
 * quote a credential.
 */
export function openSession(
  opts: RunOptions | ResumeOptions,
  journal: RunJournal,
  clock: Clock,
  mask: (s: string) => string,
  env: Record<string, string>,
): { session: RunSession; sinks: AttachedSinks } {
  const onWarning = (message: string) => opts.onWarning?.(mask(message));
  const onNotice = (message: string) => opts.onNotice?.(mask(message));
  const bus = new EventBus(journal.runId, clock, mask, journal.seq, (err) =>
    onWarning(`an event subscriber failed and was dropped: ${(err as Error).message}`),
  );
  for (const fn of opts.subscribers ?? []) bus.subscribe(fn);
  const session = new RunSession(opts.loaded, journal, opts.store, bus, clock, env);
  const sinks = attachSinks(session, onWarning, onNotice, { ...(opts.stopDrain ? { stop: opts.stopDrain } : {}), ...(opts.notifications ? { notify: opts.notifications } : {}) });
  session.audit = sinks;
  return { session, sinks };
}
