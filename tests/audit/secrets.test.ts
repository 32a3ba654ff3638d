import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { hashOf, hmacOf } from '../../core/src/audit/chain.js';
import type { AuditEntry } from '../../core/src/audit/entry.js';
import { acquireRunLock } from '../../core/src/cli/run-lock.js';
import { parseWorkflow, type LoadedWorkflow } from '../../core/src/definition/load.js';
import { resumeRun, runWorkflow } from '../../core/src/engine/executor.js';
import { FileRunStore } from '../../core/src/engine/file-run-store.js';
import type { RunEvent } from '../../core/src/model/events.js';
import { createVirtualClock } from '../../core/src/clocks/virtual.js';

/*
 * The audit trail and the journal on disk, written by real runs through the library: no secret
 * value may reach any file (in any encoding), and every trail must re-hash to the chain it claims.
 */

const SECRETS = {
  API_TOKEN: 'tok_9f8e7d6c5b4a3210zz',
  DEPLOY_PASSWORD: 'p@ss"wörd/42\\x',
  AUDIT_HMAC_KEY: 'hmac-key-5up3r-s3cr3t',
  AUDIT_TOKEN: 'audit-7oken-a1b2c3d4e5',
};

/** Every way a secret could be written: as is, JSON-escaped, URL-encoded, base64, and each line. */
function forms(secret: string): string[] {
  return [
    secret,
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
    Buffer.from(secret).toString('base64'),
    Buffer.from(`Bearer ${secret}`).toString('base64').slice(0, 16),
  ];
}
const FORBIDDEN = Object.values(SECRETS).flatMap(forms);

function expectNoSecret(where: string, text: string) {
  for (const f of FORBIDDEN) expect(text.includes(f), `${where} contains a secret (${JSON.stringify(f.slice(0, 4))}…)`).toBe(false);
}

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await allFiles(path)));
    else out.push(path);
  }
  return out;
}

/** Checks a chain of entries: seq from `first`, each linked to the one before, hash and HMAC recomputed. */
function expectValidChain(entries: AuditEntry[], key: string | undefined, where: string) {
  expect(entries.length, `${where} is empty`).toBeGreaterThan(0);
  let prev: string | null = null;
  entries.forEach((e, i) => {
    const { hash, hmac, ...body } = e;
    expect(e.seq, `${where} line ${i + 1}: seq`).toBe(i + 1);
    expect(e.prevHash, `${where} line ${i + 1}: link`).toBe(prev);
    expect(hashOf(body), `${where} line ${i + 1}: hash`).toBe(hash);
    expect(hmac, `${where} line ${i + 1}: hmac`).toBe(key === undefined ? undefined : hmacOf(hash, key));
    prev = hash;
  });
}

const parseLines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as AuditEntry);

function load(doc: Record<string, unknown>, dir: string): LoadedWorkflow {
  const text = stringify(doc);
  const result = parseWorkflow(text, 'secrets.yml');
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return { workflow: result.workflow, path: join(dir, 'secrets.yml'), dir, text, sha256: createHash('sha256').update(text).digest('hex'), warnings: result.warnings };
}

let root: string;
const servers: Server[] = [];
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rollgate-audit-secrets-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await rm(root, { recursive: true, force: true });
});

/**
 * One local server for the probe and the audit collector. The probe's answer echoes the
 * Authorization header it was sent, so the token comes back as the probe's value.
 */
async function backend() {
  const bodies: string[] = [];
  const auth: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/audit') {
        bodies.push(Buffer.concat(chunks).toString('utf8'));
        auth.push(req.headers.authorization);
        res.writeHead(200).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ auth: req.headers.authorization ?? '' }));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, auth };
}

/** Captures the stdout sink's lines (and lets everything else through). */
function captureStdout(): string[] {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (text.startsWith('{"format":"rollgate/audit@1"')) {
      lines.push(text);
      const cb = rest.find((r) => typeof r === 'function') as ((err?: Error | null) => void) | undefined;
      cb?.();
      return true;
    }
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write);
  return lines;
}

describe('secrets never reach a file a run writes', () => {
  it('journal, audit trail, lock: no secret in any form; every trail re-hashes', async () => {
    const { base, bodies, auth } = await backend();
    const stdoutLines = captureStdout();
    const auditDir = join(root, 'audit');
    const loaded = load(
      {
        version: 1,
        name: 'secret-check',
        secrets: ['DEPLOY_PASSWORD'],
        inputs: { version: { default: 'v2' } },
        environments: { staging: {} },
        probes: { api: { type: 'http', url: `${base}/health`, bearerTokenEnv: 'API_TOKEN', jsonPath: 'auth' } },
        audit: {
          sinks: [{ type: 'file', dir: auditDir }, { type: 'http', url: `${base}/audit`, bearerTokenEnv: 'AUDIT_TOKEN' }, { type: 'stdout' }],
          hmacKeyEnv: 'AUDIT_HMAC_KEY',
        },
        stages: [
          {
            name: 'web',
            environment: 'staging',
            when: 'probes.api.ok && probes.api.value != ""',
            target: {
              type: 'command',
              deploy: {
                run: 'echo "deploying with $DEPLOY_PASSWORD and $API_TOKEN"; echo "key=$AUDIT_HMAC_KEY pw=$DEPLOY_PASSWORD tok=$AUDIT_TOKEN" >&2; exit 3',
                shell: true,
              },
              revert: { run: 'echo "reverting with $DEPLOY_PASSWORD"; echo "$API_TOKEN" >&2', shell: true },
            },
          },
        ],
      },
      root,
    );
    const store = new FileRunStore(join(root, 'state', 'run.json'));
    const lock = await acquireRunLock(store.location, 'rollgate run');
    const events: RunEvent[] = [];
    const warnings: string[] = [];
    const notices: string[] = [];
    let lockText = '';
    const outcome = await runWorkflow({
      loaded,
      store,
      context: { actor: 'alice', ci: 'local' },
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...SECRETS },
      subscribers: [(e) => events.push(e)],
      onWarning: (w) => warnings.push(w),
      onNotice: (n) => notices.push(n),
    });
    lockText = await readFile(`${store.location}.lock`, 'utf8');
    const filesWhileLocked = await allFiles(root);
    await lock.release();

    // The run did what the test needs: the probe saw the token, the deploy printed and failed.
    expect(outcome.status).toBe('rolled-back');
    expect(warnings).toEqual([]);
    const measured = events.find((e) => e.kind === 'probes.measured');
    expect(measured?.kind === 'probes.measured' && measured.snapshot.api?.value).toBe('Bearer ***');
    const output = events.filter((e) => e.kind === 'step.output').map((e) => (e.kind === 'step.output' ? e.line : ''));
    // Commands never get the credentials rollgate reads itself (the probe token, the audit key and
    // sink token): those come out empty; the deploy's own secret is there, and masked.
    expect(output).toEqual(expect.arrayContaining(['deploying with *** and ', 'key= pw=*** tok=']));
    const failed = events.find((e) => e.kind === 'step.failed');
    expect(failed?.kind === 'step.failed' && failed.error).toMatch(/exited with code 3/);
    expect(failed?.kind === 'step.failed' && failed.error).toContain('***');

    // Every file: journal, its lock, the audit trail.
    expect(filesWhileLocked.map((f) => f.slice(root.length + 1)).sort()).toEqual(
      [`audit/${outcome.runId}.jsonl`, 'state/run.json', 'state/run.json.lock'].sort(),
    );
    expectNoSecret('the lock', lockText);
    for (const file of await allFiles(root)) expectNoSecret(file, await readFile(file, 'utf8'));
    // And everything else the run handed out.
    expectNoSecret('the events', JSON.stringify(events));
    expectNoSecret('the outcome', JSON.stringify(outcome));
    expectNoSecret('the notices', JSON.stringify(notices));
    expectNoSecret('the http sink', bodies.join('\n'));
    expectNoSecret('the stdout sink', stdoutLines.join(''));

    // Every trail re-hashes, with the key's HMAC, and records the whole run.
    const fileEntries = parseLines(await readFile(join(auditDir, `${outcome.runId}.jsonl`), 'utf8'));
    expectValidChain(fileEntries, SECRETS.AUDIT_HMAC_KEY, 'audit file');
    expect(fileEntries.map((e) => e.eventSeq)).toEqual(events.map((e) => e.seq));
    // The collector got the token (from the run's env), and nothing else did.
    expect(auth.length).toBeGreaterThan(0);
    expect(auth.every((a) => a === `Bearer ${SECRETS.AUDIT_TOKEN}`)).toBe(true);
    const httpEntries = bodies.flatMap((b) => (JSON.parse(b) as { entries: AuditEntry[] }).entries);
    expectValidChain(httpEntries, SECRETS.AUDIT_HMAC_KEY, 'http sink');
    expectValidChain(parseLines(stdoutLines.join('')), SECRETS.AUDIT_HMAC_KEY, 'stdout sink');
    // The three sinks hold the same entries.
    const strip = (e: AuditEntry) => e.eventSeq;
    expect(httpEntries.map(strip)).toEqual(fileEntries.map(strip));
    expect(fileEntries.find((e) => e.kind === 'step.failed')?.outcome).toBe('failed');
    expect(fileEntries.at(-1)).toMatchObject({ kind: 'run.finished', outcome: 'rolled-back' });
  });
});

describe('the audit file of a paused and resumed run', () => {
  it('is one chain that re-hashes, across the two processes', async () => {
    const auditDir = join(root, 'audit');
    const loaded = load(
      {
        version: 1,
        name: 'gated',
        secrets: ['DEPLOY_PASSWORD'],
        inputs: { version: { default: 'v2' } },
        environments: { production: {} },
        sim: { services: { web: { version: 'v1' } } },
        audit: { sinks: [{ type: 'file', dir: auditDir }] },
        stages: [{ name: 'web', environment: 'production', target: { type: 'sim', service: 'web' }, approval: { type: 'manual' } }],
      },
      root,
    );
    const store = new FileRunStore(join(root, 'state.json'));
    const env = { DEPLOY_PASSWORD: SECRETS.DEPLOY_PASSWORD };
    const first = await runWorkflow({ loaded, store, env, context: { actor: 'alice', ci: 'local' }, clock: createVirtualClock(Date.UTC(2026, 0, 1)) });
    expect(first.status).toBe('paused');
    const trail = join(auditDir, `${first.runId}.jsonl`);
    const before = parseLines(await readFile(trail, 'utf8')).length;
    const second = await resumeRun({
      loaded,
      store,
      env,
      context: { actor: 'bob', ci: 'local' },
      decision: { approve: true, by: 'bob', comment: `ok (not ${SECRETS.DEPLOY_PASSWORD})` },
      clock: createVirtualClock(Date.UTC(2026, 0, 1, 1)),
    });
    expect(second.status).toBe('succeeded');
    const text = await readFile(trail, 'utf8');
    expectNoSecret('the resumed trail', text);
    const entries = parseLines(text);
    expect(entries.length).toBeGreaterThan(before);
    expectValidChain(entries, undefined, 'resumed audit file');
    const approval = entries.find((e) => e.kind === 'approval.decided');
    expect(approval?.approval).toMatchObject({ status: 'approved', by: 'bob', comment: 'ok (not ***)' });
    expect(entries.filter((e) => e.kind === 'run.started').map((e) => e.actor)).toEqual(['alice', 'bob']);
  });
});
