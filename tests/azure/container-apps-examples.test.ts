import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkflowFile } from '../../core/src/definition/load.js';
import { runWorkflow } from '../../core/src/engine/executor.js';
import { MemoryRunStore } from '../../core/src/engine/memory-run-store.js';
import { SUBSCRIPTION } from '../../core/src/testing/azure/base/fixture.js';
import { type ContainerAppsFixture, containerAppsFixture } from '../../core/src/testing/azure/container-apps/fixture.js';
import { MonitorDouble } from '../../core/src/testing/azure/monitor.js';
import { ROOT } from '../cli/support.js';

/*
 * The Container Apps examples run as the docs show them, against the ARM double: a service
 * principal in the environment (as azure/login or a CI secret leaves it), app shop-web in rg-shop
 * running acme.azurecr.io/web:1.4.1, its Requests metric in Azure Monitor. The only change to the
 * file: `azure.endpoint` names the double instead of management.azure.com.
 */
const EXAMPLES = join(ROOT, 'examples/azure');
const APP = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-shop/providers/Microsoft.App/containerApps/shop-web`;
let azure: ContainerAppsFixture;
let errors5xx: number | null;
beforeEach(async () => {
  azure = await containerAppsFixture();
  azure.apps.seed('shop-web', { image: 'acme.azurecr.io/web:1.4.1', suffix: 'v1-4-1', resourceGroup: 'rg-shop' });
  errors5xx = null;
  new MonitorDouble(azure.server).metric(APP, 'Requests', (_at, filter) => (filter?.includes("'5xx'") ? errors5xx : 120));
});
afterEach(() => azure.cleanup());

async function example(name: string, version: string) {
  const loaded = await loadWorkflowFile(join(EXAMPLES, name));
  loaded.workflow.audit.sinks = [];
  const workflow = loaded.workflow as unknown as { azure: Record<string, unknown> };
  workflow.azure = { ...workflow.azure, endpoint: azure.server.url };
  return runWorkflow({ loaded, store: new MemoryRunStore(), context: { actor: 'alice', ci: 'local' }, inputs: { version }, clock: azure.clock, env: { PATH: process.env.PATH ?? '', ...azure.env } });
}
const view = () => azure.apps.view('shop-web', 'rg-shop');
const promoted = { mode: 'Multiple', traffic: [{ revisionName: 'shop-web--v1-4-2', weight: 100 }], active: [{ name: 'shop-web--v1-4-2', images: ['acme.azurecr.io/web:1.4.2'] }] };
const before = { mode: 'Multiple', traffic: [{ revisionName: 'shop-web--v1-4-1', weight: 100 }], active: [{ name: 'shop-web--v1-4-1', images: ['acme.azurecr.io/web:1.4.1'] }] };

describe('examples/azure (container apps)', () => {
  it.each(['container-apps-canary.yml', 'container-apps-blue-green.yml'])('%s rolls out acme.azurecr.io/web:1.4.2', async (name) => {
    const outcome = await example(name, '1.4.2');
    expect(outcome.exitCode, JSON.stringify(outcome.journal.stages, null, 1).slice(0, 3000)).toBe(0);
    expect(view()).toEqual(promoted);
  });

  it('container-apps-canary.yml with a version answering 5xx: the analysis fails, all traffic goes back to 1.4.1', async () => {
    errors5xx = 3;
    const outcome = await example('container-apps-canary.yml', '1.4.2');
    expect(outcome.exitCode).toBe(1);
    expect(outcome.status).toBe('rolled-back');
    expect(view()).toEqual(before);
  });

  it('container-apps-canary.yml with a version whose image cannot be pulled: shop-web untouched, exit 1', async () => {
    const outcome = await example('container-apps-canary.yml', 'bad');
    expect(outcome.exitCode).toBe(1);
    expect(view()).toEqual(before);
  });
});
