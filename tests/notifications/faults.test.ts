import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NOTIFY_DRAIN_MS } from '../../core/src/engine/notifications.js';
import { realTimer, type DeliveryTimer } from '../../core/src/notifiers/delivery-queue.js';
import { startSlackServer, type SlackServer } from '../../core/src/testing/slack-server.js';
import { loadTestWorkflow, runTestWorkflow } from '../../core/src/testing/workflows.js';

/*
 * Faults of a notification destination during whole runs, on the real @slack/web-api against a
 * local Slack: a 429 storm, a destination that times out, one that goes down mid-run. The
 * rollout's result never changes; what could be delivered is, in order; the token never leaks.
 */
let slack: SlackServer;
beforeEach(async () => {
  slack = await startSlackServer();
});
afterEach(async () => {
  await slack.close();
});

/** Retries recorded, not waited for; the drain at the end waits for real, up to its bound. */
function timer(drainMs = NOTIFY_DRAIN_MS): DeliveryTimer & { waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: async (ms, signal) => (ms === drainMs ? realTimer.sleep(ms, signal) : void waits.push(ms)) };
}

const workflow = (extra: Record<string, unknown> = {}) =>
  loadTestWorkflow({
    sim: { nodes: 4, services: { web: { version: 'v1' } } },
    stages: ['staging', 'production'].map((environment, i) => ({
      name: environment,
      environment,
      needs: i === 0 ? [] : ['staging'],
      target: { type: 'sim', service: `web-${environment}` },
      strategy: { type: 'direct' },
    })),
    notifications: [{ type: 'slack', channel: '#deploys', apiUrl: slack.url, on: ['run.started', 'stage.started', 'stage.finished', 'run.finished'], timeout: '300ms' }],
    ...extra,
  });
const env = () => ({ SLACK_BOT_TOKEN: slack.token });

describe('notification faults during a run', () => {
  it('a 429 storm: every message waits as Slack asks and arrives, in order, on the one message and its thread', async () => {
    slack.faults.rateLimit({ calls: 6, retryAfterSec: 2 });
    const t = timer();
    const { outcome, events } = await runTestWorkflow(workflow(), { env: env(), notifications: { timer: t } });
    expect(outcome.status).toBe('succeeded');
    expect(t.waits.slice(0, 4)).toEqual([2000, 2000, 2000, 2000]);
    const [message, ...others] = slack.messages('#deploys');
    expect(others).toEqual([]);
    expect(message?.replies.map((r) => r.text)).toEqual([
      ':large_blue_circle: stage staging started: v2 to staging (direct)',
      ':white_check_mark: stage staging succeeded',
      ':large_blue_circle: stage production started: v2 to production (direct)',
      ':white_check_mark: stage production succeeded',
      expect.stringMatching(/^:white_check_mark: run \S+ succeeded: staging: succeeded, production: succeeded$/),
    ]);
    expect(events.some((e) => e.kind === 'notifier.failed')).toBe(false);
    expect(JSON.stringify(outcome.journal)).not.toContain(slack.token);
  });

  it('a Slack that never answers: each call gives up at its timeout, the run is not held, and it is said once', async () => {
    slack.faults.hang();
    const warnings: string[] = [];
    const t = timer(4000);
    const { outcome, events } = await runTestWorkflow(workflow(), { env: env(), notifications: { timer: t, drainMs: 4000 }, onWarning: (w) => warnings.push(w) });
    expect(outcome.status).toBe('succeeded');
    const failed = events.filter((e) => e.kind === 'notifier.failed');
    expect(failed).toEqual([expect.objectContaining({ notifier: 'slack', destination: '#deploys', error: expect.stringMatching(/^Slack chat\.postMessage: no answer within 300 ms/) })]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^notifier slack \(#deploys\): \d+ messages not delivered: /);
    expect(`${JSON.stringify(events)}${warnings.join('')}`).not.toContain(slack.token);
  });

  it('Slack down from the middle of the run: what was sent stays, the rest is counted, the deployment succeeds', async () => {
    const t = timer();
    let downed = false;
    const { outcome, events } = await runTestWorkflow(workflow(), {
      env: env(),
      notifications: { timer: t },
      subscribers: [
        (e) => {
          if (!downed && e.kind === 'stage.started' && e.stage === 'production') {
            downed = true;
            void slack.faults.down();
          }
        },
      ],
    });
    expect(outcome.status).toBe('succeeded');
    expect(outcome.exitCode).toBe(0);
    expect(events.filter((e) => e.kind === 'notifier.failed')).toHaveLength(1);
  });
});
