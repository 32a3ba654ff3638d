import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEntry } from '../model/audit-entry.js';
import { describeAuditSinkContract } from '../testing/contracts/audit-sink.js';
import { fakeDeps } from '../testing/fakes.js';
import * as file from './file.js';

// The trail is <dir>/run-1.jsonl; a file where the folder should be makes it unwritable.
describeAuditSinkContract('file', () => {
  const root = mkdtempSync(join(tmpdir(), 'rollgate-contract-audit-file-'));
  const dir = join(root, 'audit');
  const trail = join(dir, 'run-1.jsonl');
  const hmacKey = 'contract-hmac-key';
  const config = file.configSchema.parse({ type: 'file', dir });
  return {
    create: () => file.create(config, { ...fakeDeps(), hmacKey }),
    async read() {
      let text = '';
      try {
        text = readFileSync(trail, 'utf8');
      } catch {
        return [];
      }
      return text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as AuditEntry);
    },
    hmacKey,
    files: () => [trail],
    break() {
      rmSync(dir, { recursive: true, force: true });
      writeFileSync(dir, 'not a folder');
    },
    repair: () => rmSync(dir, { force: true }),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
});
