import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createRealClock, FileRunStore, loadWorkflowFile, resumeRun, runWorkflow } from '../../core/src/index.js';
import type { RunEvent } from '../../core/src/index.js';
import { freePort } from './app-server.js';
import { startPostgres } from './servers/postgres.js';

/*
 * End to end through the public API, on a real PostgreSQL 15 and a real clock: a production stage
 * whose pre-flight check reads the applied schema migration through the `postgres` probe, and a
 * `command` target that records what it deployed in a file.
 *
 * Two ways to wait for the migration: in-process with `waitFor` (the stage measures the probe every
 * interval until the condition holds, and is refused past its timeout), or across jobs with the
 * gate pattern (the approval gate pauses the run, exit 3; the migration is applied meanwhile; on
 * resume the pre-flight check is evaluated again against the database as it is then). A release
 * whose migration was never applied is refused before anything is deployed.
 */

const server = await startPostgres();
afterAll(() => server.stop());
await server.sql('CREATE TABLE schema_migrations (version bigint PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())', server.database);
await server.sql(`ALTER TABLE schema_migrations OWNER TO ${server.roles.scram.name}`, server.database);

const RELEASE = 'v2.4.0';
const NEEDS = 42;
const CHECK = `probes.schema.ok && probes.schema.value >= ${NEEDS}.0`;
const { name: user, password } = server.roles.scram;
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', SHOP_DB_PASSWORD: password };

let dir = '';
beforeEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = await mkdtemp(join(tmpdir(), 'rollgate-pg-gate-'));
  await server.sql('TRUNCATE schema_migrations; INSERT INTO schema_migrations (version) VALUES (40), (41)', server.database);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The workflow file: production deploys RELEASE once schema NEEDS is applied. */
async function workflowFile(options: { gate: boolean; port?: number; waitFor?: { timeout: string } }): Promise<string> {
  const doc = {
    version: 1,
    name: 'shop',
    inputs: { version: { default: RELEASE } },
    environments: { production: {} },
    probes: {
      schema: {
        type: 'postgres',
        host: server.host,
        port: options.port ?? server.port,
        database: server.database,
        user,
        passwordEnv: 'SHOP_DB_PASSWORD',
        query: 'SELECT max(version) FROM schema_migrations',
        timeout: '2s',
      },
    },
    stages: [
      {
        name: 'web',
        environment: 'production',
        version: '{{ inputs.version }}',
        ...(options.gate ? { approval: { type: 'manual', message: `apply migration ${NEEDS} first` } } : {}),
        ...(options.waitFor ? { waitFor: { check: CHECK, message: `${RELEASE} needs schema migration ${NEEDS}`, interval: '250ms', ...options.waitFor } } : {}),
        preflight: [{ check: CHECK, message: `${RELEASE} needs schema migration ${NEEDS}` }],
        target: { type: 'command', deploy: { run: ['sh', '-c', 'echo "$ROLLGATE_VERSION" > deployed.txt'], cwd: '.' } },
      },
    ],
    audit: { sinks: [{ type: 'file', dir: join(dir, 'audit') }] },
  };
  const path = join(dir, 'rollgate.yml');
  await writeFile(path, stringify(doc));
  return path;
}

async function start(path: string) {
  const events: RunEvent[] = [];
  const store = new FileRunStore(join(dir, 'state.json'));
  const outcome = await runWorkflow({
    loaded: await loadWorkflowFile(path),
    store,
    context: { actor: 'alice', ci: 'local' },
    env,
    clock: createRealClock(),
    subscribers: [(e) => events.push(e)],
  });
  return { outcome, events, store };
}

const deployed = () => (existsSync(join(dir, 'deployed.txt')) ? readFileSync(join(dir, 'deployed.txt'), 'utf8').trim() : undefined);
const preflightDecisions = (events: RunEvent[]) => events.filter((e) => e.kind === 'decision.made' && e.decision.startsWith('pre-flight'));

/** Nothing the run wrote (journal, audit trail) nor any event holds the password. */
function expectNoPassword(events: RunEvent[]): void {
  expect(JSON.stringify(events)).not.toContain(password);
  const files = [join(dir, 'state.json'), ...readdirSync(join(dir, 'audit')).map((f) => join(dir, 'audit', f))];
  for (const file of files) expect(readFileSync(file, 'utf8'), file).not.toContain(password);
}

describe('a production stage gated on a PostgreSQL schema migration', () => {
  it('waits at its gate while the migration is applied, then passes the pre-flight check and deploys', async () => {
    const path = await workflowFile({ gate: true });
    const first = await start(path);
    expect(first.outcome).toMatchObject({ status: 'paused', exitCode: 3 });
    expect(deployed()).toBeUndefined();

    // Meanwhile, the migration job of the release applies migration 42.
    await server.sql(`INSERT INTO schema_migrations (version) VALUES (${NEEDS})`, server.database);

    const events: RunEvent[] = [];
    const resumed = await resumeRun({
      loaded: await loadWorkflowFile(path),
      store: first.store,
      context: { actor: 'bob', ci: 'local' },
      env,
      clock: createRealClock(),
      decision: { approve: true, by: 'bob' },
      subscribers: [(e) => events.push(e)],
    });
    expect(resumed).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(deployed()).toBe(RELEASE);
    expect(preflightDecisions(events)).toEqual([
      expect.objectContaining({ decision: 'pre-flight passed', evidence: expect.objectContaining({ probes: { schema: expect.objectContaining({ ok: true, value: NEEDS }) } }) }),
    ]);
    expectNoPassword([...first.events, ...events]);
  });

  it('waits in-process (waitFor) until the migration is applied, then deploys', async () => {
    const path = await workflowFile({ gate: false, waitFor: { timeout: '20s' } });
    // The release's migration job applies migration 42 while the run waits.
    const migrated = new Promise<void>((resolve, reject) => {
      setTimeout(() => server.sql(`INSERT INTO schema_migrations (version) VALUES (${NEEDS})`, server.database).then(() => resolve(), reject), 1_000);
    });
    const { outcome, events } = await start(path);
    await migrated;
    expect(outcome).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(deployed()).toBe(RELEASE);
    const waits = events.filter((e) => e.kind === 'decision.made' && e.decision.startsWith('wait'));
    expect(waits.map((e) => (e.kind === 'decision.made' ? e.decision : ''))).toEqual(['wait', 'wait over']);
    expect(waits[0]).toMatchObject({ reason: expect.stringContaining('probes schema=41') });
    expectNoPassword(events);
  });

  it('refuses the stage when waitFor runs out: nothing deployed, the probe and the value seen named', async () => {
    const { outcome, events } = await start(await workflowFile({ gate: false, waitFor: { timeout: '1s' } }));
    expect(outcome).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(deployed()).toBeUndefined();
    expect(events.filter((e) => e.kind === 'infra.changed')).toEqual([]);
    expect(outcome.journal.stages.web?.message).toMatch(
      new RegExp(`^waited 1\\.\\d+s for probes\\.schema\\.ok && probes\\.schema\\.value >= 42\\.0 \\(${RELEASE.replaceAll('.', '\\.')} needs schema migration 42\\); it still does not hold: probes schema=41; nothing was changed$`),
    );
    expectNoPassword(events);
  });

  it('refuses the stage when the migration was never applied: nothing deployed, the value seen recorded', async () => {
    const { outcome, events } = await start(await workflowFile({ gate: false }));
    expect(outcome).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(deployed()).toBeUndefined();
    expect(events.filter((e) => e.kind === 'infra.changed')).toEqual([]);
    expect(outcome.journal.stages.web?.message).toBe(`pre-flight check failed: ${CHECK} (${RELEASE} needs schema migration ${NEEDS}); nothing was changed`);
    const [decision] = preflightDecisions(events);
    expect(decision).toMatchObject({
      decision: 'pre-flight failed',
      reason: `${CHECK} is false: ${RELEASE} needs schema migration ${NEEDS}`,
      evidence: { condition: CHECK, probes: { schema: { ok: true, value: 41 } } },
    });
    expectNoPassword(events);
  });

  it('refuses the stage when PostgreSQL refuses connections, saying which server', async () => {
    const port = await freePort();
    const { outcome, events } = await start(await workflowFile({ gate: false, port }));
    expect(outcome).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(deployed()).toBeUndefined();
    const [decision] = preflightDecisions(events);
    expect(decision).toMatchObject({
      decision: 'pre-flight failed',
      evidence: { probes: { schema: { ok: false, value: null, error: `connection refused by 127.0.0.1:${port} (nothing listens there)` } } },
    });
    expectNoPassword(events);
  });
});
