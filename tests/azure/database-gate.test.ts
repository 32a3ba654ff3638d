import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkflowFile } from '../../core/src/definition/load.js';
import { runWorkflow } from '../../core/src/engine/executor.js';
import { MemoryRunStore } from '../../core/src/engine/memory-run-store.js';
import type { RunEvent } from '../../core/src/model/events.js';
import { type AppServiceFixture, appServiceFixture } from '../../core/src/testing/azure/app-service/fixture.js';
import { RESOURCE_GROUP } from '../../core/src/testing/azure/base/fixture.js';
import { DatabasesDouble } from '../../core/src/testing/azure/databases.js';

/*
 * The azure-database probe as a deploy gate, through the engine on a virtual clock: a deploy that
 * waits for a flexible server being restarted (Starting, then Ready three minutes later), and one
 * refused before anything changes because the SQL database is paused.
 */
let azure: AppServiceFixture;
let databases: DatabasesDouble;
let dir: string;
beforeEach(async () => {
  azure = await appServiceFixture();
  databases = new DatabasesDouble(azure.server);
  dir = mkdtempSync(join(tmpdir(), 'rollgate-azure-db-'));
});
afterEach(async () => {
  await azure.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function run(stage: Record<string, unknown>, probes: Record<string, unknown>) {
  const file = join(dir, 'rollgate.yml');
  writeFileSync(
    file,
    stringify({
      version: 1,
      name: 'web',
      inputs: { version: { default: '2.0.0' } },
      azure: azure.settings,
      environments: { production: {} },
      probes,
      stages: [{ name: 'web', environment: 'production', target: { type: 'app-service', app: 'web', interval: '5s' }, ...stage }],
    }),
  );
  const events: RunEvent[] = [];
  const outcome = await runWorkflow({
    loaded: await loadWorkflowFile(file),
    store: new MemoryRunStore(),
    context: { actor: 'alice', ci: 'local' },
    clock: azure.clock,
    env: { PATH: '', ...azure.env },
    subscribers: [(e) => events.push(e)],
  });
  return { outcome, events };
}

describe('azure-database as a deploy gate', () => {
  it('waits for a flexible server that is starting, then deploys once it is Ready', async () => {
    databases.set('postgres', RESOURCE_GROUP, 'orders', { state: 'Starting', highAvailability: { mode: 'ZoneRedundant', state: 'CreatingStandby' } });
    const started = azure.clock.now();
    azure.clock.setTimer(3 * 60_000, () => databases.set('postgres', RESOURCE_GROUP, 'orders', { state: 'Ready', highAvailability: { mode: 'ZoneRedundant', state: 'Healthy' } }));
    const { outcome, events } = await run(
      { waitFor: { check: 'probes.db.ok && probes.db.haState == "Healthy"', message: 'orders is Ready', timeout: '10m', interval: '1m' } },
      { db: { type: 'azure-database', kind: 'postgres-flexible', server: 'orders' } },
    );
    expect(outcome.exitCode, JSON.stringify(events.filter((e) => e.kind.includes('fail')))).toBe(0);
    expect(azure.image()).toBe('registry.local/web:2.0.0');
    expect(azure.clock.now() - started).toBeGreaterThanOrEqual(3 * 60_000);
  });

  it('a paused SQL database refuses the stage before anything changes, naming its state', async () => {
    databases.set('sql', RESOURCE_GROUP, 'sqlsrv/orders', { status: 'Paused' });
    const { outcome, events } = await run(
      { preflight: [{ check: 'probes.db.ok', message: 'the orders database is Online' }] },
      { db: { type: 'azure-database', kind: 'sql', server: 'sqlsrv', database: 'orders' } },
    );
    expect(outcome.exitCode).not.toBe(0);
    expect(azure.image('staging')).toBe('registry.local/web:0.9.0');
    expect(azure.server.calls.filter((c) => c.method !== 'GET')).toEqual([]);
    expect(JSON.stringify(events)).toContain('the orders database is Online');
    expect(JSON.stringify(events)).toContain('Paused');
  });
});
