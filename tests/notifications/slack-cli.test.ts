import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSlackServer, type SlackServer } from '../../core/src/testing/slack-server.js';
import { cli, workspace, writeWorkflow } from '../cli/support.js';

/*
 * Slack as a pipeline meets it: `rollgate run` pauses at a gate in one process, `rollgate resume
 * --approve` finishes in another, and the channel holds one message, updated in place by both,
 * with the story in its thread. The real CLI, the real @slack/web-api, a local Slack over HTTP.
 */
let slack: SlackServer;
beforeEach(async () => {
  slack = await startSlackServer();
});
afterEach(async () => {
  await slack.close();
});

const workflow = (apiUrl: string) => `
version: 1
name: shop
inputs:
  version: { required: true }
sim:
  services: { web: { version: "1.4.1" } }
environments:
  production: { url: https://shop.example.com }
stages:
  - name: prod
    environment: production
    approval: { type: manual, message: "Ship it?" }
    target: { type: sim, service: web }
    router: { type: sim, service: web }
    strategy:
      type: canary
      steps:
        - setWeight: 20
        - analysis:
            metrics:
              - { name: error-rate, query: candidate-error-rate, successCondition: "result < 0.05", unit: ratio }
notifications:
  - type: slack
    channel: "#deploys"
    apiUrl: ${apiUrl}
`;

describe('slack through the CLI', () => {
  it('one message for the run, updated in place by the job that resumes after the gate', async () => {
    const dir = await workspace();
    const file = await writeWorkflow(dir, 'shop.yml', workflow(slack.url));
    const env = { SLACK_BOT_TOKEN: slack.token, ROLLGATE_ACTOR: 'alice' };
    const first = await cli(['run', file, '--input', 'version=1.4.2'], { cwd: dir, env });
    expect(first.code, first.stderr).toBe(3);
    const [paused] = slack.messages('#deploys');
    expect(paused?.text).toMatch(/^⚠ shop: 1\.4\.2 to production: waiting for approval/);
    expect(JSON.stringify(paused?.blocks)).toContain('Waiting for approval at gate approval-prod (manual): Ship it?');
    expect(JSON.stringify(paused?.blocks)).toContain('rollgate resume --state');

    const second = await cli(['resume', '--approve', '--by', 'bob'], { cwd: dir, env: { ...env, ROLLGATE_ACTOR: 'bob' } });
    expect(second.code, second.stderr).toBe(0);
    const messages = slack.messages('#deploys');
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(message?.ts).toBe(paused?.ts);
    expect(message?.text).toMatch(/^✓ shop: 1\.4\.1 → 1\.4\.2 to production \(canary\): succeeded/);
    expect(JSON.stringify(message?.blocks)).toMatch(/✓ error-rate \d+(\.\d+)?% \[success: result &lt; 0\.05\] succeeded/);
    const replies = message?.replies.map((r) => r.text.split('\n')[0]) ?? [];
    expect(replies).toEqual([
      ':warning: prod: approval needed (approval-prod, manual) for 1.4.2 to production: Ship it?',
      expect.stringMatching(/^:warning: run paused at prod\/approval-prod: approve prod \(1\.4\.2 to production\): Ship it\?: rollgate resume --state \S+\/\.rollgate\/run\.json --approve \(or --reject\)$/),
      expect.stringMatching(/^:large_blue_circle: run shop-\S+ of shop resumed by bob$/),
      expect.stringMatching(/^:white_check_mark: run shop-\S+ succeeded: prod: succeeded$/),
    ]);
    expect(`${first.stdout}${first.stderr}${second.stdout}${second.stderr}`).not.toContain(slack.token);
  });

  it('a channel that does not exist: warned once, the deployment succeeds, the token never printed', async () => {
    const dir = await workspace();
    const file = await writeWorkflow(dir, 'shop.yml', workflow(slack.url).replace('"#deploys"', '"#nope"').replace(/ {4}approval: .*\n/, ''));
    const result = await cli(['run', file, '--input', 'version=1.4.2'], { cwd: dir, env: { SLACK_BOT_TOKEN: slack.token } });
    expect(result.code, result.stderr).toBe(0);
    const warnings = result.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings).toEqual([
      "warning: notifier slack (#nope): 2 messages not delivered: Slack chat.postMessage: channel_not_found: the channel #nope does not exist or the app cannot see it; invite the app or fix `channel`; the deployment's result is not affected",
    ]);
    expect(result.stdout).toContain('notifier slack (#nope) is failing');
    expect(`${result.stdout}${result.stderr}`).not.toContain(slack.token);
  });

  it('a missing token stops the run before it changes anything, naming the variable', async () => {
    const dir = await workspace();
    const file = await writeWorkflow(dir, 'shop.yml', workflow(slack.url));
    const result = await cli(['run', file, '--input', 'version=1.4.2'], { cwd: dir, env: {} });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('notifications[0].tokenEnv: environment variable SLACK_BOT_TOKEN is not set');
    expect(slack.requests).toEqual([]);
  });
});
