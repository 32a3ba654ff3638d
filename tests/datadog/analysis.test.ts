import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVirtualClock, type VirtualClock } from '../../core/src/clocks/virtual.js';
import { loadWorkflowFile } from '../../core/src/definition/load.js';
import { runWorkflow } from '../../core/src/engine/executor.js';
import { FileRunStore } from '../../core/src/engine/file-run-store.js';
import type { RunEvent } from '../../core/src/model/events.js';
import { DatadogServer } from '../../core/src/testing/datadog-server.js';

/*
 * The datadog metric provider as a workflow uses it: a canary's analysis reads the canary's error
 * percentage from the Datadog API double (a formula over two queries, the version filled from the
 * workflow's input), through the engine on a virtual clock. Keys come from the runner's
 * environment and never appear in an event or the journal.
 */

let server: DatadogServer;
let clock: VirtualClock;
let dir: string;
beforeEach(async () => {
  server = await new DatadogServer().start();
  clock = createVirtualClock();
  dir = mkdtempSync(join(tmpdir(), 'rollgate-datadog-'));
  server.define('sum:trace.http.request.hits{service:web,version:v2}.as_count()', 500);
  server.define('sum:trace.http.request.errors{service:web,version:v2}.as_count()', 1);
});
afterEach(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const QUERY = `formula: 100 * errors / hits
queries:
  errors: sum:trace.http.request.errors{service:web,version:{{ inputs.version }}}.as_count()
  hits: sum:trace.http.request.hits{service:web,version:{{ inputs.version }}}.as_count()`;

async function run(options: { onNoData?: string; env?: Record<string, string> } = {}) {
  const file = join(dir, 'rollgate.yml');
  writeFileSync(
    file,
    stringify({
      version: 1,
      name: 'web',
      inputs: { version: { default: 'v2' } },
      environments: { production: {} },
      sim: { services: { web: { version: 'v1' } } },
      metricProviders: { datadog: { type: 'datadog', endpoint: server.url } },
      analyses: {
        errors: { metrics: [{ name: 'canary-error-percent', provider: 'datadog', query: QUERY, successCondition: 'result < 1.0', interval: '1m', count: 2, onNoData: options.onNoData ?? 'fail' }] },
      },
      stages: [
        {
          name: 'web',
          environment: 'production',
          target: { type: 'sim', service: 'web' },
          router: { type: 'sim', service: 'web' },
          strategy: { type: 'canary', steps: [{ setWeight: 20 }, { analysis: { templates: ['errors'] } }, { setWeight: 50 }] },
        },
      ],
    }),
  );
  const events: RunEvent[] = [];
  const journal = join(dir, 'run.json');
  const outcome = await runWorkflow({
    loaded: await loadWorkflowFile(file),
    store: new FileRunStore(journal),
    context: { actor: 'alice', ci: 'local' },
    clock,
    env: options.env ?? { PATH: process.env.PATH ?? '', DD_API_KEY: server.apiKey, DD_APP_KEY: server.appKey },
    subscribers: [(e) => events.push(e)],
  });
  return { outcome, events, journal: readFileSync(journal, 'utf8') };
}

const measured = (events: RunEvent[]) => events.filter((e) => e.kind === 'analysis.measured').map((e) => JSON.stringify(e));

describe('datadog analysis in a workflow', () => {
  it('a clean canary is promoted; each query went out with the version filled in', async () => {
    const { outcome, events } = await run();
    expect(outcome.exitCode).toBe(0);
    expect(measured(events)[0]).toContain('"value":0.2');
    const sent = JSON.stringify(server.requests.map((r) => r.body));
    expect(sent).toContain('version:v2');
    expect(sent).not.toContain('{{');
  });

  it('a canary whose error percentage is high is rolled back', async () => {
    server.define('sum:trace.http.request.errors{service:web,version:v2}.as_count()', 25);
    const { outcome, events } = await run();
    expect(outcome.exitCode).toBe(1);
    expect(events.some((e) => e.kind === 'rollback.started')).toBe(true);
    expect(measured(events)[0]).toContain('"value":5');
  });

  it('no series is no data: with onNoData fail the canary is rolled back, never passed on a zero', async () => {
    server.define('sum:trace.http.request.errors{service:web,version:v2}.as_count()', []);
    const { outcome, events } = await run({ onNoData: 'fail' });
    expect(outcome.exitCode).toBe(1);
    expect(measured(events).join('\n')).toContain('no data');
  });

  it('keys appear in no event and not in the journal, also when Datadog refuses them', async () => {
    server.fail(429, { times: 1 });
    const good = await run();
    server.canQuery = false;
    const refused = await run();
    expect(refused.outcome.exitCode).toBe(1);
    const text = [JSON.stringify(good.events), good.journal, JSON.stringify(refused.events), refused.journal].join('\n');
    expect(text).toContain('timeseries_query');
    expect(text).not.toContain(server.apiKey);
    expect(text).not.toContain(server.appKey);
  });
});
