import { afterAll, beforeAll } from 'vitest';
import { describeNotifierContract } from '../testing/contracts/notifier.js';
import { fakeDeps } from '../testing/fakes.js';
import { startWebhookReceiver } from '../testing/webhook-receiver.js';
import { configSchema, create } from './webhook.js';

// A real receiver over HTTP; the failing destination answers 500 to everything.
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
let broken: Awaited<ReturnType<typeof startWebhookReceiver>>;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
  broken = await startWebhookReceiver();
});
afterAll(async () => {
  await receiver.close();
  await broken.close();
});

describeNotifierContract('webhook', () => {
  const env: Record<string, string> = { HOOK_URL: receiver.url, HOOK_SECRET: 'whsec-contract-secret' };
  const config = configSchema.parse({ type: 'webhook', urlEnv: 'HOOK_URL', secretEnv: 'HOOK_SECRET' });
  const secret = (name: string) => env[name];
  return {
    deps: (states) => fakeDeps({ secret }, { states }),
    create: (deps) => create(config, deps),
    delivered: () => receiver.requests.length,
    failing: (deps) => {
      broken.answers.push({ status: 500 });
      return create(config, { ...deps, secret: (name) => (name === 'HOOK_URL' ? broken.url : secret(name)) });
    },
    secrets: [receiver.url, broken.url, 'whsec-contract-secret'],
  };
});
