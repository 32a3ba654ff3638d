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

/*
 * `type: blue-green` on App Service with the app-service router, end to end through runWorkflow on
 * the App Service double: deploy to the slot, warm up, all traffic to it by the routing rule, the
 * scale-down delay with the old version still in production, then the swap.
 */

let azure: AppServiceFixture;
let dir: string;
beforeEach(async () => {
  azure = await appServiceFixture();
  dir = mkdtempSync(join(tmpdir(), 'rollgate-appservice-bg-'));
});
afterEach(async () => {
  await azure.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function run(version: string) {
  const file = join(dir, 'rollgate.yml');
  writeFileSync(
    file,
    stringify({
      version: 1,
      name: 'web',
      inputs: { version: { default: version } },
      azure: azure.settings,
      environments: { production: {} },
      stages: [
        {
          name: 'web',
          environment: 'production',
          target: { type: 'app-service', app: 'web', healthPath: '/health', interval: '5s', timeout: '2m' },
          router: { type: 'app-service' },
          strategy: { type: 'blue-green', scaleDownDelay: '1m' },
        },
      ],
    }),
  );
  const events: RunEvent[] = [];
  const outcome = await runWorkflow({ loaded: await loadWorkflowFile(file), store: new MemoryRunStore(), context: { actor: 'alice', ci: 'local' }, clock: azure.clock, env: { PATH: '', ...azure.env }, subscribers: [(e) => events.push(e)] });
  return { outcome, events };
}

describe('app-service blue-green with the app-service router', () => {
  it('warms the slot, switches all traffic to it, then swaps it into production', async () => {
    const { outcome, events } = await run('2.0.0');
    expect(outcome.exitCode, JSON.stringify(events.filter((e) => e.kind.includes('fail')))).toBe(0);
    expect(azure.image()).toBe('registry.local/web:2.0.0');
    expect(azure.image('staging')).toBe('registry.local/web:1.0.0');
    expect(azure.share()).toBe(0);
    // The promotion dropped the rule before the swap: no request met the slot restarting, or the old version after.
    expect(azure.appService.world.misrouted).toEqual([]);
  });

  it('a version that never warms up is never switched to', async () => {
    const { outcome } = await run('bad');
    expect(outcome.exitCode).toBe(1);
    expect(azure.image()).toBe('registry.local/web:1.0.0');
    expect(azure.share()).toBe(0);
  });
});
