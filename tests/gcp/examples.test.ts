import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkflowFile } from '../../core/src/definition/load.js';
import { runWorkflow } from '../../core/src/engine/executor.js';
import { MemoryRunStore } from '../../core/src/engine/memory-run-store.js';
import type { RunEvent } from '../../core/src/model/events.js';
import { type GcpFixture, gcpFixture, PROJECT, REGION, servingView } from '../../core/src/testing/gcp/fixture.js';
import { ROOT } from '../cli/support.js';

/*
 * The Google Cloud examples run as docs/clouds/gcp.md shows them, against the Google API double:
 * the workflow's gcp block with the double as its endpoint, credentials in
 * GOOGLE_APPLICATION_CREDENTIALS as on a runner, the service deployed once, the database RUNNABLE
 * and Cloud Run's request metric answering a low error ratio.
 */
const EXAMPLES = join(ROOT, 'examples/gcp');

let gcp: GcpFixture;
beforeEach(async () => {
  gcp = await gcpFixture();
  gcp.server.run.seed(PROJECT, REGION, 'web', 'europe-docker.pkg.dev/acme-prod/web/web:1.4.1');
  gcp.server.sql.set(PROJECT, 'orders', { state: 'RUNNABLE' });
  gcp.server.monitoring.on(/run_googleapis_com:request_count/, 0.002);
});
afterEach(() => gcp.cleanup());

async function example(name: string, version: string) {
  const loaded = await loadWorkflowFile(join(EXAMPLES, name));
  loaded.workflow.audit.sinks = [];
  (loaded.workflow as unknown as { gcp: Record<string, unknown> }).gcp.endpoint = gcp.server.url;
  const events: RunEvent[] = [];
  const outcome = await runWorkflow({
    loaded,
    store: new MemoryRunStore(),
    context: { actor: 'alice', ci: 'local' },
    inputs: { version },
    clock: gcp.clock,
    env: { PATH: process.env.PATH ?? '', ...gcp.env },
    subscribers: [(e) => events.push(e)],
  });
  return { outcome, events };
}

const promoted = [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'web-1-4-2', percent: 100 }];

describe('examples/gcp on the Google API double', () => {
  it('cloud-run-canary.yml: 10, 50, 100 % under analysis, then promoted', async () => {
    const { outcome, events } = await example('cloud-run-canary.yml', '1.4.2');
    expect(outcome.exitCode, JSON.stringify(events.filter((e) => e.kind === 'step.failed'))).toBe(0);
    expect(servingView(gcp.server)).toEqual(promoted);
    expect(events.flatMap((e) => (e.kind === 'weight.changed' ? [e.to] : []))).toEqual([10, 50, 100]);
  });

  it('cloud-run-blue-green.yml: switched at once, then promoted', async () => {
    const { outcome, events } = await example('cloud-run-blue-green.yml', '1.4.2');
    expect(outcome.exitCode, JSON.stringify(events.filter((e) => e.kind === 'step.failed'))).toBe(0);
    expect(servingView(gcp.server)).toEqual(promoted);
  });

  it('cloud-run-canary.yml with the error ratio too high: the traffic goes back to the revision that served', async () => {
    gcp.server.monitoring.on(/run_googleapis_com:request_count/, 0.2);
    const { outcome } = await example('cloud-run-canary.yml', '1.4.2');
    expect(outcome.exitCode).toBe(1);
    expect(servingView(gcp.server)).toEqual([{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'web-00001-abc', percent: 100 }]);
  });
});
