import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeliveryError } from '../errors.js';
import { fakeDeps } from '../testing/fakes.js';
import { sampleNotifications } from '../testing/contracts/notifier.js';
import { startWebhookReceiver } from '../testing/webhook-receiver.js';
import { configSchema, create, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature, type WebhookPayload } from './webhook.js';

let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
beforeEach(async () => {
  receiver = await startWebhookReceiver();
});
afterEach(async () => {
  await receiver.close();
});

const SECRET = 'whsec-0123456789abcdef';
const notifier = (fields: Record<string, unknown>, env: Record<string, string> = {}) =>
  create(configSchema.parse({ type: 'webhook', ...fields }), fakeDeps({ secret: (name) => env[name] }));
const last = () => sampleNotifications().at(-1) as ReturnType<typeof sampleNotifications>[number];

describe('webhook notifier', () => {
  it('POSTs the event, the run message and its text, signed so a receiver can tell it is ours', async () => {
    const n = notifier({ url: receiver.url, secretEnv: 'HOOK_SECRET' }, { HOOK_SECRET: SECRET });
    const { event, message } = last();
    await n.notify(event, message);
    const [req] = receiver.requests;
    const payload = JSON.parse(req?.body ?? '') as WebhookPayload;
    expect(payload.version).toBe(1);
    expect(payload.event.kind).toBe('run.finished');
    expect(payload.message.title).toBe('web: v1 → v2 to production (canary): rolled back');
    expect(payload.message.stages[0]?.analyses[0]).toMatchObject({ metric: 'error-rate', value: '12%', condition: 'result < 0.05', verdict: 'failed' });
    expect(payload.text).toContain('Failed at verify: error-rate 12% [result < 0.05] failed');
    expect(req?.headers[EVENT_HEADER]).toBe('run.finished');
    expect(req?.headers[DELIVERY_HEADER]).toBe(`run-1.${event.seq}`);
    const timestamp = req?.headers[TIMESTAMP_HEADER] as string;
    const signature = req?.headers[SIGNATURE_HEADER] as string;
    expect(verifyWebhookSignature(SECRET, timestamp, req?.body ?? '', signature)).toBe(true);
    expect(verifyWebhookSignature('another-secret', timestamp, req?.body ?? '', signature)).toBe(false);
    expect(verifyWebhookSignature(SECRET, timestamp, `${req?.body ?? ''} `, signature)).toBe(false);
    expect(verifyWebhookSignature(SECRET, timestamp, req?.body ?? '', signature, Number(timestamp) + 301)).toBe(false);
    expect(verifyWebhookSignature(SECRET, 'soon', req?.body ?? '', signature)).toBe(false);
  });

  it('reads each answer to its end, so the next notification reuses the connection (and none holds the process open)', async () => {
    const n = notifier({ url: receiver.url });
    const { event, message } = last();
    await n.notify(event, message);
    await n.notify(event, message);
    expect(receiver.requests.map((r) => r.connection)).toEqual([1, 1]);
  });

  it('sends no signature without a secret, and names only the host as its destination', async () => {
    const n = notifier({ urlEnv: 'HOOK_URL', headers: { 'x-team': 'payments' } }, { HOOK_URL: receiver.url });
    expect(n.destination).toMatch(/^127\.0\.0\.1:\d+$/);
    await n.notify(last().event, last().message);
    expect(receiver.requests[0]?.headers[SIGNATURE_HEADER]).toBeUndefined();
    expect(receiver.requests[0]?.headers['x-team']).toBe('payments');
  });

  it.each([
    [{ status: 429, retryAfter: '3' }, { retryable: true, retryAfterMs: 3000, fatal: false }, /rate limited \(HTTP 429, retry after 3000 ms\)/],
    [{ status: 503, body: 'maintenance' }, { retryable: true, fatal: false }, /HTTP 503: maintenance/],
    [{ status: 404 }, { retryable: false, fatal: true }, /HTTP 404 \(destination not found\)/],
    [{ status: 401 }, { retryable: false, fatal: true }, /not allowed: check the credential/],
    [{ status: 400, body: 'invalid_payload' }, { retryable: false, fatal: false }, /HTTP 400: invalid_payload/],
  ] as const)('classifies %j for the delivery queue, naming the host and never the URL', async (answer, classified, message) => {
    receiver.answers.push(answer);
    const n = notifier({ urlEnv: 'HOOK_URL' }, { HOOK_URL: receiver.url });
    const err = (await n.notify(last().event, last().message).catch((e: unknown) => e)) as DeliveryError;
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject(classified);
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/^webhook 127\.0\.0\.1:\d+: /);
    expect(err.message).not.toContain('/hooks/rollgate');
  });

  it('gives up on a receiver that does not answer within the timeout, retryably', async () => {
    receiver.answers.push('hang');
    const n = notifier({ url: receiver.url, timeout: '100ms' });
    await expect(n.notify(last().event, last().message)).rejects.toMatchObject({ retryable: true, message: expect.stringMatching(/no answer within 100 ms/) });
  });

  it('says a receiver that is down is refusing connections, retryably', async () => {
    const url = receiver.url;
    await receiver.close();
    const n = notifier({ url });
    await expect(n.notify(last().event, last().message)).rejects.toMatchObject({ retryable: true, message: expect.stringMatching(/connection refused$/) });
  });

  it('refuses a config with both url and urlEnv, or neither, and a URL that is not http', () => {
    expect(() => configSchema.parse({ type: 'webhook' })).toThrow(/give url or urlEnv/);
    expect(() => configSchema.parse({ type: 'webhook', url: 'http://a', urlEnv: 'B' })).toThrow(/give url or urlEnv/);
    expect(() => configSchema.parse({ type: 'webhook', url: 'ftp://a/b' })).toThrow(/expected an http:\/\/ or https:\/\/ URL/);
  });

  it('is fatal when its URL or secret variable is not set (the engine checks this before a run; a library caller may not)', async () => {
    await expect(notifier({ urlEnv: 'HOOK_URL' }).notify(last().event, last().message)).rejects.toMatchObject({
      fatal: true,
      message: 'webhook HOOK_URL (not set): environment variable HOOK_URL is not set',
    });
    await expect(notifier({ url: receiver.url, secretEnv: 'S' }).notify(last().event, last().message)).rejects.toMatchObject({
      fatal: true,
      message: expect.stringMatching(/environment variable S is not set \(secretEnv\)$/),
    });
  });
});
