import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeliveryError } from '../../errors.js';
import { startTeamsServer, type TeamsServer } from '../../testing/teams-server.js';
import { createTeamsWorkflowWebhook, describeWebhookUrl, retiredConnectorUrl, WORKFLOWS_MAX_CARD_BYTES } from './workflow-webhook.js';

const card = { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'Deploy v1.2.3 → 25% canary', wrap: true }] };

let server: TeamsServer;
beforeEach(async () => {
  server = await startTeamsServer();
});
afterEach(async () => {
  await server.close();
});

/** The error a post fails with, checked to be a DeliveryError that does not hold the URL or its secret. */
async function failure(post: Promise<void>, url: string): Promise<DeliveryError> {
  const err = await post.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DeliveryError);
  const error = err as DeliveryError;
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  const secrets = [url, parsed?.searchParams.get('sig'), parsed?.pathname, /SECRET\w*/.exec(url)?.[0]].filter((s): s is string => !!s && s !== '/');
  for (const secret of secrets) {
    expect(error.message).not.toContain(secret);
    expect(JSON.stringify({ ...error, stack: error.stack })).not.toContain(secret);
  }
  expect(error.cause).toBeUndefined();
  return error;
}

describe('Teams workflow webhook: URLs', () => {
  it('recognises the retired Office 365 connector URLs and nothing else', () => {
    expect(retiredConnectorUrl('https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456')).toBe(true);
    expect(retiredConnectorUrl('https://outlook.office.com/webhook/abc/IncomingWebhook/def')).toBe(true);
    expect(retiredConnectorUrl('https://outlook.office365.com/webhook/abc')).toBe(true);
    expect(retiredConnectorUrl('https://OUTLOOK.Office.com/Webhook/abc')).toBe(true);
    expect(retiredConnectorUrl('https://prod-12.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=x')).toBe(false);
    expect(retiredConnectorUrl('https://default1.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/abc?sig=x')).toBe(false);
    expect(retiredConnectorUrl('https://outlook.office.com/mail')).toBe(false);
    expect(retiredConnectorUrl('https://webhook.office.com.evil.example/webhook')).toBe(false);
    expect(retiredConnectorUrl('not a url')).toBe(false);
  });

  it('describes a URL by its host only', () => {
    expect(describeWebhookUrl('https://prod-12.westeurope.logic.azure.com:443/workflows/abc123/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SECRET')).toBe(
      'Teams workflow at prod-12.westeurope.logic.azure.com',
    );
    expect(describeWebhookUrl('https://contoso.webhook.office.com/webhookb2/abc')).toBe('retired Teams connector at contoso.webhook.office.com');
    expect(describeWebhookUrl('nope ?sig=SECRET')).toBe('Teams workflow webhook (unreadable URL)');
    expect(describeWebhookUrl(server.workflowUrl())).toBe(`Teams workflow at ${new URL(server.url).host}`);
  });
});

describe('Teams workflow webhook against a local Workflows trigger', () => {
  it('posts the documented envelope and takes 202 as accepted', async () => {
    const url = server.workflowUrl('flow-1');
    const hook = createTeamsWorkflowWebhook(url);
    await hook.post(card);
    expect(server.cards()).toEqual([card]);
    const [request] = server.requests;
    expect(request).toMatchObject({ endpoint: 'workflow', method: 'POST', status: 202 });
    expect(request?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request?.body ?? '')).toEqual({
      type: 'message',
      attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }],
    });
    expect(hook.destination).toBe(`Teams workflow at ${new URL(server.url).host}`);
  });

  it('retries a 429 after its Retry-After', async () => {
    const url = server.workflowUrl();
    server.fault('workflow', { status: 429, retryAfter: '7' });
    const error = await failure(createTeamsWorkflowWebhook(url).post(card), url);
    expect(error).toMatchObject({ retryable: true, fatal: false, retryAfterMs: 7000 });
    expect(error.message).toBe(`Teams workflow at ${new URL(server.url).host}: rate limited (HTTP 429 Fault429, retry after 7000 ms)`);
  });

  it.each([502, 503, 504])('retries a %i, after Retry-After when there is one', async (status) => {
    const url = server.workflowUrl();
    server.fault('workflow', { status, ...(status === 503 ? { retryAfter: '2' } : {}) });
    const error = await failure(createTeamsWorkflowWebhook(url).post(card), url);
    expect(error).toMatchObject({ retryable: true, fatal: false, retryAfterMs: status === 503 ? 2000 : undefined });
    expect(error.message).toContain(`Power Automate is unavailable (HTTP ${status}`);
  });

  it('retries a 500', async () => {
    const url = server.workflowUrl();
    server.fault('workflow', { status: 500 });
    const error = await failure(createTeamsWorkflowWebhook(url).post(card), url);
    expect(error).toMatchObject({ retryable: true, fatal: false });
    expect(error.message).toMatch(/: HTTP 500$/);
  });

  it('drops a card over the size limit with 413 "Request Entity too large", saying how big it was and what fits', async () => {
    const url = server.workflowUrl();
    const big = { ...card, body: Array.from({ length: 400 }, (_, i) => ({ type: 'TextBlock', text: `line ${i} ${'x'.repeat(80)}` })) };
    const error = await failure(createTeamsWorkflowWebhook(url).post(big), url);
    expect(error).toMatchObject({ retryable: false, fatal: false });
    expect(error.message).toMatch(/Request Entity too large \(HTTP 413\): the request was \d+\.\d KB and Workflows posts cards of about 28\.0 KB at most; shorten the card/);
    expect(server.cards()).toEqual([]);
    expect(WORKFLOWS_MAX_CARD_BYTES).toBe(28 * 1024);
  });

  it('drops a card the flow refuses with 400, naming the error code', async () => {
    const url = server.workflowUrl();
    const error = await failure(createTeamsWorkflowWebhook(url).post({ type: 'MessageCard', text: 'hi' }), url);
    expect(error).toMatchObject({ retryable: false, fatal: false });
    expect(error.message).toContain('the flow refused the request (HTTP 400 TriggerInputSchemaMismatch)');
  });

  it('gives up on the destination on 401, 403 and 404', async () => {
    const url = server.workflowUrl();
    const wrongSig = url.replace(server.sig, 'sig-not-the-right-one');
    const unauthorised = await failure(createTeamsWorkflowWebhook(wrongSig).post(card), wrongSig);
    expect(unauthorised).toMatchObject({ retryable: false, fatal: true });
    expect(unauthorised.message).toContain("not authorised (HTTP 401 DirectApiAuthorizationRequired): the URL's signature is wrong");
    server.fault('workflow', { status: 403 });
    expect(await failure(createTeamsWorkflowWebhook(url).post(card), url)).toMatchObject({ fatal: true, message: expect.stringContaining('not authorised (HTTP 403') });
    server.fault('workflow', { status: 404, body: { error: { code: 'WorkflowNotFound', message: `no workflow at ${url}` } } });
    const gone = await failure(createTeamsWorkflowWebhook(url).post(card), url);
    expect(gone).toMatchObject({ retryable: false, fatal: true });
    expect(gone.message).toContain('no such workflow (HTTP 404 WorkflowNotFound)');
  });

  it('retries a request that is never answered, after the timeout', async () => {
    const url = server.workflowUrl();
    server.fault('workflow', { hang: true });
    const error = await failure(createTeamsWorkflowWebhook(url, { timeoutMs: 50 }).post(card), url);
    expect(error).toMatchObject({ retryable: true, fatal: false });
    expect(error.message).toContain('no answer within 50 ms (the request may still have been accepted)');
  });

  it('retries when the connection drops without an answer, and when nothing listens', async () => {
    const url = server.workflowUrl();
    server.fault('workflow', { down: true });
    const dropped = await failure(createTeamsWorkflowWebhook(url).post(card), url);
    expect(dropped).toMatchObject({ retryable: true, fatal: false });
    expect(dropped.message).toMatch(/network error/);
    await server.close();
    const refused = await failure(createTeamsWorkflowWebhook(url).post(card), url);
    expect(refused).toMatchObject({ retryable: true, fatal: false });
    expect(refused.message).toContain('connection refused (nothing listens there)');
    server = await startTeamsServer();
  });

  it('refuses, without sending, a retired connector URL, a plain-http remote URL and an unreadable one', async () => {
    const retired = 'https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/SECRETPART/456';
    const old = await failure(createTeamsWorkflowWebhook(retired).post(card), retired);
    expect(old).toMatchObject({ fatal: true });
    expect(old.message).toBe(
      'retired Teams connector at contoso.webhook.office.com: this is an Office 365 connector URL, and connectors were retired in May 2026: create a workflow from the "Send webhook alerts to a channel" template in Teams and use its URL',
    );
    const clear = 'http://prod-1.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=SECRETSIG';
    expect((await failure(createTeamsWorkflowWebhook(clear).post(card), clear)).message).toContain('must use https');
    const unreadable = 'prod-1 logic azure com?sig=SECRETSIG';
    expect((await failure(createTeamsWorkflowWebhook(unreadable).post(card), unreadable)).message).toContain('cannot be read');
    expect(server.requests).toEqual([]);
  });
});
