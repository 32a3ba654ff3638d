import type { AuditEntry } from '../model/audit-entry.js';
import { describeAuditSinkContract } from '../testing/contracts/audit-sink.js';
import { fakeDeps } from '../testing/fakes.js';
import * as stdout from './stdout.js';

/**
 * The job log as the sink sees it: a stream whose writes fail while it is broken (a closed pipe)
 * and work again once repaired. A real stream stays broken after its first error, so this one is
 * the minimal surface the sink uses.
 */
function jobLog() {
  let text = '';
  let broken = false;
  const stream = {
    write(chunk: string, done: (err?: Error | null) => void) {
      if (broken) {
        done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
        return false;
      }
      text += chunk;
      done();
      return true;
    },
    on() {
      return stream;
    },
    off() {
      return stream;
    },
  };
  return {
    stream: stream as unknown as NodeJS.WritableStream,
    lines: () => text.split('\n').filter((line) => line !== ''),
    setBroken: (value: boolean) => {
      broken = value;
    },
  };
}

describeAuditSinkContract('stdout', () => {
  const log = jobLog();
  const hmacKey = 'contract-hmac-key';
  return {
    create: () => stdout.create(stdout.configSchema.parse({ type: 'stdout' }), { ...fakeDeps(), hmacKey, stream: log.stream }),
    read: async () => log.lines().map((line) => JSON.parse(line) as AuditEntry),
    hmacKey,
    break: () => log.setBroken(true),
    repair: () => log.setBroken(false),
  };
});
