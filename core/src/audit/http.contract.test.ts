import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEntry } from '../model/audit-entry.js';
import { describeAuditSinkContract } from '../testing/contracts/audit-sink.js';
import { fakeDeps } from '../testing/fakes.js';
import * as http from './http.js';

const TOKEN = 'tok-contract-SECRET-1234';
const QUERY_KEY = 'q-contract-SECRET-5678';

/** A collector on 127.0.0.1 that keeps every entry it takes, and answers 503 while broken. */
async function collector() {
  const entries: AuditEntry[] = [];
  let broken = false;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (broken || req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(broken ? 503 : 401).end();
        return;
      }
      entries.push(...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { entries: AuditEntry[] }).entries);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest?key=${QUERY_KEY}`;
  return {
    url,
    entries,
    close,
    setBroken: (value: boolean) => {
      broken = value;
    },
  };
}

// No retries and a short drain, so a broken collector fails at once; the spool goes to a temp dir.
describeAuditSinkContract('http', async () => {
  const server = await collector();
  const spoolDir = mkdtempSync(join(tmpdir(), 'rollgate-contract-audit-http-'));
  const hmacKey = 'contract-hmac-key';
  const config = http.configSchema.parse({ type: 'http', url: server.url, bearerTokenEnv: 'AUDIT_TOKEN', retries: 0, drainTimeout: '5s', spoolDir });
  return {
    create: () => http.create(config, { ...fakeDeps(), hmacKey, env: { AUDIT_TOKEN: TOKEN } }),
    read: async () => [...server.entries],
    hmacKey,
    break: () => server.setBroken(true),
    repair: () => server.setBroken(false),
    secrets: [TOKEN, QUERY_KEY],
    async cleanup() {
      await server.close();
      rmSync(spoolDir, { recursive: true, force: true });
    },
  };
});
