import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkflowFile } from '../../core/src/definition/load.js';
import { runWorkflow } from '../../core/src/engine/executor.js';
import { MemoryRunStore } from '../../core/src/engine/memory-run-store.js';
import type { RunEvent } from '../../core/src/model/events.js';
import { AppServiceDouble } from '../../core/src/testing/azure/app-service.js';
import { type ArmFixture, armFixture } from '../../core/src/testing/azure/base/fixture.js';
import { DatabasesDouble } from '../../core/src/testing/azure/databases.js';
import { ROOT } from '../cli/support.js';

/*
 * The App Service examples run as the docs show them, against the ARM double: the subscription
 * and a service principal in the job's environment (as azure/login leaves them), web app shop-web
 * with its staging slot and database shop-db in rg-shop, and the version a person would pass. The
 * only change to the file: `azure.endpoint` names the double instead of management.azure.com.
 */
const EXAMPLES = join(ROOT, 'examples/azure');

let azure: ArmFixture;
let appService: AppServiceDouble;
let databases: DatabasesDouble;
beforeEach(async () => {
  azure = await armFixture();
  appService = new AppServiceDouble(azure.server, { now: () => azure.clock.now() });
  await appService.addSite('rg-shop', 'shop-web', 'acme.azurecr.io/web:1.4.1', { staging: 'acme.azurecr.io/web:1.4.0' });
  databases = new DatabasesDouble(azure.server);
  databases.set('postgres', 'rg-shop', 'shop-db', { state: 'Ready', highAvailability: { mode: 'ZoneRedundant', state: 'Healthy' } });
});
afterEach(async () => {
  await appService.stop();
  await azure.cleanup();
});

async function example(name: string, version: string) {
  const loaded = await loadWorkflowFile(join(EXAMPLES, name));
  loaded.workflow.audit.sinks = [];
  const workflow = loaded.workflow as unknown as { azure: Record<string, unknown> };
  workflow.azure = { ...workflow.azure, endpoint: azure.server.url };
  const events: RunEvent[] = [];
  const outcome = await runWorkflow({
    loaded,
    store: new MemoryRunStore(),
    context: { actor: 'alice', ci: 'local' },
    inputs: { version },
    clock: azure.clock,
    env: { PATH: process.env.PATH ?? '', ...azure.env },
    subscribers: [(e) => events.push(e)],
  });
  return { outcome, events };
}
const image = (slot = 'production') => appService.world.image('rg-shop', 'shop-web', slot);

describe('examples/azure', () => {
  it.each(['app-service-blue-green.yml', 'app-service-canary.yml'])('%s rolls out acme.azurecr.io/web:1.4.2', async (name) => {
    const { outcome, events } = await example(name, '1.4.2');
    expect(outcome.exitCode, JSON.stringify(events.filter((e) => e.kind.includes('fail')), null, 1)).toBe(0);
    expect(image()).toBe('acme.azurecr.io/web:1.4.2');
    expect(image('staging')).toBe('acme.azurecr.io/web:1.4.1');
    expect(appService.world.site('rg-shop', 'shop-web').rampUpRules).toEqual([]);
  });

  it('app-service-blue-green.yml with a version that never warms up: production untouched, exit 1', async () => {
    const { outcome } = await example('app-service-blue-green.yml', 'bad');
    expect(outcome.exitCode).toBe(1);
    expect(image()).toBe('acme.azurecr.io/web:1.4.1');
    expect(appService.world.site('rg-shop', 'shop-web').rampUpRules).toEqual([]);
  });

  it('app-service-blue-green.yml is refused before anything changes while the database is being updated', async () => {
    databases.set('postgres', 'rg-shop', 'shop-db', { state: 'Updating' });
    const { outcome, events } = await example('app-service-blue-green.yml', '1.4.2');
    expect(outcome.exitCode).not.toBe(0);
    expect(image('staging')).toBe('acme.azurecr.io/web:1.4.0');
    expect(JSON.stringify(events)).toContain('the shop database is Ready (not being updated, stopped or failed over)');
    expect(azure.server.calls.filter((c) => c.method !== 'GET')).toEqual([]);
  });
});
