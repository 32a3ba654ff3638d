import { resolve } from 'node:path';
import type { AuditSinkConfig } from '../definition/schema.js';
import type { RunEvent } from '../model/events.js';
import type { Logger } from '../ports/logger.js';
import { AuditPipeline, DRAIN_MS, type AuditPipelineOptions } from '../audit/pipeline.js';
import type { RunSession } from './run-session.js';
import { Notifications, type NotificationOptions } from './notifications.js';
import { createAuditSink } from './wiring.js';

/** The audit side of a run, as `attachSinks` hands it to the executor. */
export interface AttachedSinks {
  /**
   * Resolves once every audit sink has proved it can write. Rejects with a `UsageError` naming
   * each one that cannot (its destination, the cause, the fix) unless it is best-effort, which
   * is a warning. Await it before the run changes anything.
   */
  ready: Promise<void>;
  /**
   * After the run closed: why a sink that is not best-effort does not hold the whole trail (an
   * entry it could not write, or one still undelivered at the drain deadline). Empty when every
   * such sink holds it; then the run may say its audit trail is complete.
   */
  readonly auditIncomplete: readonly string[];
}

/**
 * Options of the audit pipeline: `stop` ends the drain at the end of the run at once (pass a
 * signal the CLI aborts on a second Ctrl-C or SIGTERM); the rest are test seams (flush
 * thresholds, output limits, the drain's clock).
 */
export type AuditTuning = Pick<AuditPipelineOptions, 'flushEvery' | 'outputLimits' | 'drainMs' | 'timer' | 'stop'> & {
  /** The notification queues' timer and drain bound (tests). */
  notify?: Pick<NotificationOptions, 'timer' | 'drainMs'>;
};

/**
 * Connects the workflow's notifiers and audit sinks to the run's events. Notifications are fired
 * and forgotten (a slow or failing Slack never holds a rollout); audit entries are queued and
 * flushed after every journal write, whenever enough wait (a chatty step), and at the end under a
 * deadline. A sink failing mid-run is reported once, and at the end with what it lost.
 */
export function attachSinks(session: RunSession, onWarning: (message: string) => void, onNotice: (message: string) => void, tuning: AuditTuning = {}): AttachedSinks {
  const environment = Object.values(session.journal.stages)[0]?.environment ?? Object.keys(session.workflow.environments)[0] ?? '';
  const log: Logger = { info: onNotice, warn: onWarning, output: (_stream, line) => onNotice(line) };
  const deps = (key: string) => session.providers.deps(environment, log, key);
  const notifications = new Notifications({
    configs: session.workflow.notifications,
    deps,
    state: session.providers.states.handle('notifications'),
    emit: (body) => session.emit(body),
    onWarning,
    ...tuning.notify,
  });
  const keyEnv = session.workflow.audit.hmacKeyEnv;
  const hmacKey = keyEnv ? session.env[keyEnv] : undefined;
  const configs = session.workflow.audit.sinks;
  const audit = new AuditPipeline({
    sinks: configs.map((c, i) => ({
      sink: createAuditSink(c, { ...deps(`audit/${i}`), env: session.env, ...(hmacKey ? { hmacKey } : {}) }),
      path: `audit.sinks[${i}]`,
      bestEffort: c.bestEffort,
      ...fixFor(c, `audit.sinks[${i}]`),
    })),
    context: {
      workflow: session.workflow.name,
      context: session.journal.context,
      environments: Object.fromEntries(Object.entries(session.journal.stages).map(([name, r]) => [name, r.environment])),
    },
    onWarning,
    // The drain waits as long as the most patient http sink asks (`drainTimeout`), 10 s at least.
    drainMs: Math.max(DRAIN_MS, ...configs.map((c) => (c.type === 'http' ? c.drainTimeout : 0))),
    ...tuning,
  });
  session.bus.subscribe((event: RunEvent) => {
    audit.record(event);
    notifications.onEvent(event, 'stage' in event && event.stage ? session.journal.stages[event.stage]?.environment : undefined);
  });
  // Not awaited: the journal write's flush runs beside the run, and the end of the run waits
  // for the sinks only as long as the drain deadline allows.
  session.writer.onSave(async () => audit.flushInBackground());
  session.writer.onClose(async () => {
    const seq = session.bus.lastSeq;
    await notifications.close();
    // A destination reported failing while the queues drained (its `notifier.failed` event), after
    // the run's last write: write again, so the journal's event count covers it.
    if (session.bus.lastSeq > seq) await session.writer.saveBestEffort();
    await audit.close();
  });
  const ready = audit.open();
  // Until the caller awaits it, a rejection must not surface as an unhandled one.
  ready.catch(() => {});
  return {
    ready,
    get auditIncomplete() {
      return audit.incomplete;
    },
  };
}

/** What to change when a sink cannot write: the folder it writes to, or another one. */
function fixFor(config: AuditSinkConfig, path: string): { fix?: string } {
  if (config.type === 'file') return { fix: `make ${resolve(config.dir)} writable, choose another ${path}.dir` };
  if (config.type === 'http') return { fix: `make ${resolve(config.spoolDir)} writable, choose another ${path}.spoolDir` };
  return {};
}
