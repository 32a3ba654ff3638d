import type { RunEvent } from '../model/events.js';
import type { RunSession } from './run-session.js';
import type { AuditContext } from '../audit/entry.js';
import { toAuditEntry } from '../audit/from-event.js';
import { createAuditSink, createNotifier } from './wiring.js';

/** Longest a run waits at its end for notifications still in flight. */
const NOTIFY_FLUSH_MS = 2000;

/**
 * Connects the workflow's notifiers and audit sinks to the run's events. Notifications are fired
 * and forgotten (a slow or failing Slack never holds a rollout); audit entries are queued and
 * flushed after every journal write and at the end. A failing sink is reported once.
 */
export function attachSinks(session: RunSession, onWarning: (message: string) => void, onNotice: (message: string) => void): void {
  const environment = Object.values(session.journal.stages)[0]?.environment ?? Object.keys(session.workflow.environments)[0] ?? '';
  const deps = session.deps(environment, { info: onNotice, warn: onWarning, output: (_stream, line) => onNotice(line) });
  const notifiers = session.workflow.notifications.map((c) => createNotifier(c, deps));
  const keyEnv = session.workflow.audit.hmacKeyEnv;
  const hmacKey = keyEnv ? session.env[keyEnv] : undefined;
  const audits = session.workflow.audit.sinks.map((c) => createAuditSink(c, { ...deps, env: session.env, ...(hmacKey ? { hmacKey } : {}) }));
  const auditContext = (): AuditContext => ({
    workflow: session.workflow.name,
    context: session.journal.context,
    environments: Object.fromEntries(Object.entries(session.journal.stages).map(([name, r]) => [name, r.environment])),
  });
  const context = auditContext();
  const inFlight = new Set<Promise<void>>();
  session.bus.subscribe((event: RunEvent) => {
    // A resumed run is carried on by whoever resumed it: entries after that name them.
    if (event.kind === 'run.started') context.context = event.context;
    if (audits.length > 0) {
      const entry = toAuditEntry(event, context);
      for (const sink of audits) sink.record(entry);
    }
    for (const n of notifiers) {
      if (!n.wants(event)) continue;
      const p = n.notify(event).catch((err: unknown) => onWarning(`notifier ${n.type} failed: ${(err as Error).message}`));
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
  });
  const reported = new Set<unknown>();
  const flushAudit = async () => {
    for (const sink of audits) {
      try {
        await sink.flush();
      } catch (err) {
        if (reported.has(sink)) continue;
        reported.add(sink);
        onWarning(`audit sink ${sink.type} failed: ${(err as Error).message}`);
      }
    }
  };
  session.onSave(flushAudit);
  session.onClose(async () => {
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, NOTIFY_FLUSH_MS).unref());
    await Promise.race([Promise.all([...inFlight, ...notifiers.map((n) => n.flush())]), timeout]);
    await flushAudit();
  });
}
