import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, vi } from 'vitest';
import { describeNotifierContract } from '../testing/contracts/notifier.js';
import { fakeDeps } from '../testing/fakes.js';
import { startTeamsServer, type TeamsServer } from '../testing/teams-server.js';
import * as teams from './teams.js';
import * as teamsBot from './teams-bot.js';

// A local Workflows endpoint and Bot Connector (with Entra's token endpoint, reached through server.fetch).
let server: TeamsServer;
beforeAll(async () => {
  server = await startTeamsServer();
  vi.stubGlobal('fetch', server.fetch);
});
afterAll(async () => {
  vi.unstubAllGlobals();
  await server.close();
});
const accepted = () => server.requests.filter((r) => r.endpoint !== 'token' && (r.status ?? 0) < 300).length;

describeNotifierContract('teams', () => {
  const config = teams.configSchema.parse({ type: 'teams' });
  return {
    deps: (states) => fakeDeps({ secret: () => server.workflowUrl() }, { states }),
    create: (deps) => teams.create(config, deps),
    delivered: accepted,
    failing: (deps) => {
      server.fault('workflow', { status: 503 });
      return teams.create(config, deps);
    },
    secrets: [server.sig],
  };
});

describeNotifierContract('teams-bot', () => {
  const config = teamsBot.configSchema.parse({
    type: 'teams-bot',
    appId: randomUUID(),
    tenantId: 'tenant-0000',
    conversation: { serviceUrl: server.serviceUrl, id: '19:contract@thread.tacv2' },
    serviceHosts: ['127.0.0.1'],
  });
  return {
    deps: (states) => fakeDeps({ secret: () => server.clientSecret }, { states }),
    create: (deps) => teamsBot.create(config, deps),
    delivered: accepted,
    failing: (deps) => {
      server.fault('send', { status: 502 });
      return teamsBot.create(config, deps);
    },
    secrets: [server.clientSecret],
  };
});
