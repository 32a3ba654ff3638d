import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../model/events.js';
import { realTimer, type DeliveryTimer } from '../notifiers/delivery-queue.js';
import type { WebhookPayload } from '../notifiers/webhook.js';
import { startWebhookReceiver } from '../testing/webhook-receiver.js';
import { loadTestWorkflow, runTestWorkflow } from '../testing/workflows.js';
import { resumeRun } from './executor.js';
import { NOTIFY_DRAIN_MS } from './notifications.js';

/*
 * Notifications through a whole run, to a real HTTP receiver: what people are told, that the
 * rollout never waits on them, and that a destination that fails is said once and changes nothing.
 */
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
beforeEach(async () => {
  receiver = await startWebhookReceiver();
});
afterEach(async () => {
  await receiver.close();
});

/** Retries without waiting (what they would wait is recorded); the drain at the end waits for real, up to its bound. */
const waits: number[] = [];
const timer: DeliveryTimer = { sleep: async (ms, signal) => (ms === NOTIFY_DRAIN_MS ? realTimer.sleep(ms, signal) : void waits.push(ms)) };

const sim = { nodes: 4, services: { web: { version: 'v1' } }, failures: [{ kind: 'bad-version', version: 'v2', errorRate: 0.04 }] };
const canary = {
  name: 'web',
  environment: 'production',
  target: { type: 'sim', service: 'web' },
  router: { type: 'sim', service: 'web' },
  strategy: {
    type: 'canary',
    steps: [{ setWeight: 20 }, { analysis: { metrics: [{ name: 'errors', query: 'candidate-error-rate', successCondition: 'result < 0.02', unit: 'ratio' }] } }],
  },
};
const workflow = (notifications: unknown[], extra: Record<string, unknown> = {}) =>
  loadTestWorkflow({ sim, environments: { production: { url: 'https://web.example.com' } }, stages: [canary], notifications, ...extra });
const payloads = () => receiver.requests.map((r) => JSON.parse(r.body) as WebhookPayload);

describe('notifications through a run', () => {
  it('tell what happened and why, in order: the values against their conditions, what rollgate did', async () => {
    const { outcome } = await runTestWorkflow(workflow([{ type: 'webhook', url: receiver.url }]), { notifications: { timer } });
    expect(outcome.status).toBe('rolled-back');
    const sent = payloads();
    expect(sent.map((p) => p.event.kind)).toEqual(['run.started', 'rollback.started', 'rollback.finished', 'run.finished']);
    const last = sent.at(-1) as WebhookPayload;
    expect(last.message.title).toBe('web: v2 to production (canary): rolled back');
    expect(last.message.stages[0]?.analyses).toEqual([{ metric: 'errors', value: '3.9%', condition: 'success: result < 0.02', verdict: 'failed', count: 1 }]);
    expect(last.text).toContain('✗ errors 3.9% [success: result < 0.02] failed');
    expect(last.text).toContain('Rolled back: the previous version runs again');
    expect(last.message.links).toContainEqual({ label: 'production', url: 'https://web.example.com' });
    expect(sent[1]?.message.stages[0]?.weight).toBe(20);
  });

  it('a destination down for the whole run: said once in the events (and so the audit trail), warned with what it missed, the result unchanged', async () => {
    const url = receiver.url;
    await receiver.close();
    const warnings: string[] = [];
    const loaded = workflow([{ type: 'webhook', url }], { sim: { ...sim, failures: [] } });
    const { outcome, events } = await runTestWorkflow(loaded, { notifications: { timer }, onWarning: (w) => warnings.push(w) });
    expect(outcome.status).toBe('succeeded');
    expect(outcome.exitCode).toBe(0);
    const failed = events.filter((e): e is Extract<RunEvent, { kind: 'notifier.failed' }> => e.kind === 'notifier.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ notifier: 'webhook', destination: expect.stringMatching(/^127\.0\.0\.1:\d+$/), error: expect.stringMatching(/connection refused( \(after \d tries\))?$/) });
    expect(warnings).toEqual([expect.stringMatching(/^notifier webhook \(127\.0\.0\.1:\d+\): 2 messages not delivered: webhook 127\.0\.0\.1:\d+: connection refused( \(after \d tries\))?; the deployment's result is not affected$/)]);
    expect(outcome.journal.seq).toBe(events.at(-1)?.seq);
  });

  it('a slow destination never holds the rollout: the run ends, and the drain gives up at its bound', async () => {
    receiver.answers.push('hang', 'hang', 'hang', 'hang', 'hang');
    const warnings: string[] = [];
    let end!: () => void;
    const drain = new Promise<void>((resolve) => (end = resolve));
    // The drain's wait is the timer's too: it ends when the test says, not after 5 s.
    const held: DeliveryTimer = { sleep: (ms) => (ms === 250 ? (end(), Promise.resolve()) : drain) };
    const loaded = workflow([{ type: 'webhook', url: receiver.url, timeout: '30s' }], { sim: { ...sim, failures: [] } });
    const { outcome } = await runTestWorkflow(loaded, { notifications: { timer: held, drainMs: 250 }, onWarning: (w) => warnings.push(w) });
    expect(outcome.status).toBe('succeeded');
    expect(warnings).toEqual([expect.stringMatching(/: 2 messages not delivered; the deployment's result is not affected$/)]);
  });

  it('keeps the message model in the journal, so the job that resumes after a gate tells the whole story', async () => {
    const loaded = workflow([{ type: 'webhook', url: receiver.url }], { sim: { ...sim, failures: [] }, stages: [{ ...canary, approval: { type: 'manual', message: 'Ship v2?' } }] });
    const first = await runTestWorkflow(loaded, { notifications: { timer } });
    expect(first.outcome.status).toBe('paused');
    expect(payloads().map((p) => p.event.kind)).toEqual(['run.started', 'approval.requested', 'run.paused']);
    expect(payloads()[1]?.message.approval).toMatchObject({ gate: 'approval-web', approver: 'manual', message: 'Ship v2?', how: expect.stringContaining("'rollgate resume --approve'") });
    expect(payloads()[2]?.message.approval?.how).toMatch(/rollgate resume --state memory --approve \(or --reject\)$/);
    const resumed = await resumeRun({ loaded, store: first.store, context: { actor: 'bob', ci: 'local' }, decision: { approve: true, by: 'bob' }, notifications: { timer } });
    expect(resumed.status).toBe('succeeded');
    const last = payloads().at(-1) as WebhookPayload;
    expect(last.event.kind).toBe('run.finished');
    expect(last.message.title).toBe('web: v1 → v2 to production (canary): succeeded');
    expect(last.message.context.actor).toBe('bob');
    expect(last.message.stages[0]?.analyses[0]).toMatchObject({ metric: 'errors', verdict: 'succeeded' });
  });
});
