import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyTrail } from '../../audit/verify.js';
import { ProviderError } from '../../errors.js';
import type { AuditEntry } from '../../model/audit-entry.js';
import type { AuditDrainReport, AuditSink } from '../../ports/audit-sink.js';
import { assertChain, testAuditEntry } from '../audit.js';
import { rejection } from './kit.js';

/** What `describeAuditSinkContract` needs: sinks of one run over one destination, and a way to read it back. */
export interface AuditSinkFixture {
  /** A sink of the run, as a process makes it; each call is another process over the same destination. */
  create(): AuditSink;
  /** Every entry the destination holds, in its order (a new chain starts where seq is 1 again). */
  read(): Promise<AuditEntry[]>;
  /** The HMAC key the sinks are given (`deps.hmacKey`), to check the seals; none by default. */
  hmacKey?: string;
  /** The trail files, when the destination is files: they must pass `verifyTrail`. */
  files?(): string[];
  /** Makes the destination refuse writes until `repair` (a file in the way, a broken pipe, a collector answering 503). */
  break?(): void | Promise<void>;
  repair?(): void | Promise<void>;
  /** Credentials the sink is configured with (a token, a URL's query): no message may carry them. */
  secrets?: readonly string[];
  cleanup?(): void | Promise<void>;
}

/** The chains of `entries`: a new one starts where seq is 1 again (a process whose sink starts its own chain). */
export function chainsOf(entries: AuditEntry[]): AuditEntry[][] {
  const chains: AuditEntry[][] = [];
  for (const e of entries) {
    if (e.seq === 1 || chains.length === 0) chains.push([]);
    chains[chains.length - 1]?.push(e);
  }
  return chains;
}

const never = () => new AbortController().signal;
const passed = () => AbortSignal.abort(new Error('the deadline passed'));

/**
 * Registers the shared contract suite of the `AuditSink` port: `open` succeeds for a writable
 * destination (and again), `record` + `flush` keep order and chain (across flushes and
 * processes; files pass `verifyTrail`), `queued` counts what is not delivered and drops to 0
 * after a flush, a failed flush throws `ProviderError` and loses nothing, and `close(deadline)`
 * returns a report and never throws, saying what did not arrive, with no credential in any
 * message. Call it at the top level of a `<impl>.contract.test.ts` file; `setup` runs before
 * every check and must give an empty destination.
 */
export function describeAuditSinkContract(name: string, setup: () => Promise<AuditSinkFixture> | AuditSinkFixture): void {
  describe(`AuditSink contract: ${name}`, () => {
    let f: AuditSinkFixture | undefined;
    beforeEach(async () => {
      f = await setup();
    });
    afterEach(async () => {
      await f?.cleanup?.();
      f = undefined;
    });
    const fixture = () => f as AuditSinkFixture;
    const record = (sink: AuditSink, from: number, to: number) => {
      for (let n = from; n <= to; n++) sink.record(testAuditEntry(n));
    };

    /** The destination holds events `eventSeqs` in order, every chain recomputes, and trail files verify. */
    const expectTrail = async (eventSeqs: number[], chains: number) => {
      const entries = await fixture().read();
      expect(entries.map((e) => e.eventSeq), 'entries arrive in order, none lost or repeated').toEqual(eventSeqs);
      const found = chainsOf(entries);
      expect(found.length, 'chains at the destination').toBe(chains);
      for (const chain of found) assertChain(chain, fixture().hmacKey);
      const files = fixture().files?.();
      if (files) expect((await verifyTrail(files, fixture().hmacKey ? { key: fixture().hmacKey as string } : {})).ok, 'verifyTrail').toBe(true);
    };

    const expectReport = (report: AuditDrainReport) => {
      for (const n of [report.undelivered, report.dropped]) expect(Number.isInteger(n) && n >= 0).toBe(true);
      if (report.undelivered > 0) expect(typeof report.error, 'a report with undelivered entries says why').toBe('string');
      expectNoSecret(JSON.stringify(report));
    };

    const expectNoSecret = (text: string) => {
      for (const secret of fixture().secrets ?? []) expect(text, 'a message carries a credential').not.toContain(secret);
    };

    it('open succeeds for a writable destination, and again', async () => {
      const sink = fixture().create();
      expect(typeof sink.type).toBe('string');
      await sink.open();
      await sink.open();
      expect(sink.queued).toBe(0);
    });

    it('record + flush keep order and chain, and queued counts what is not delivered until the flush ends', async () => {
      const sink = fixture().create();
      await sink.open();
      record(sink, 1, 3);
      expect(sink.queued).toBe(3);
      const flushing = sink.flush();
      expect(sink.queued, 'a batch being written is still queued').toBe(3);
      await flushing;
      expect(sink.queued).toBe(0);
      await expectTrail([1, 2, 3], 1);
    });

    it('the chain goes on across flushes, and a flush with nothing queued does nothing', async () => {
      const sink = fixture().create();
      await sink.open();
      record(sink, 1, 2);
      await sink.flush();
      await sink.flush();
      record(sink, 3, 5);
      await sink.flush();
      await expectTrail([1, 2, 3, 4, 5], 1);
    });

    it('record and flush work without open', async () => {
      const sink = fixture().create();
      record(sink, 1, 2);
      await sink.flush();
      await expectTrail([1, 2], 1);
    });

    it('a later process goes on: nothing lost or reordered, and every chain holds', async () => {
      const first = fixture().create();
      await first.open();
      record(first, 1, 2);
      await first.flush();
      expectReport(await first.close(never()));
      const later = fixture().create();
      await later.open();
      record(later, 3, 4);
      await later.flush();
      expectReport(await later.close(never()));
      const entries = await fixture().read();
      expect(entries.map((e) => e.eventSeq)).toEqual([1, 2, 3, 4]);
      await expectTrail([1, 2, 3, 4], chainsOf(entries).length);
    });

    it('close writes what is queued and reports nothing missing', async () => {
      const sink = fixture().create();
      await sink.open();
      record(sink, 1, 3);
      const report = await sink.close(never());
      expect(report).toMatchObject({ undelivered: 0, dropped: 0 });
      expect(report.error).toBeUndefined();
      await expectTrail([1, 2, 3], 1);
    });

    it('close with its deadline already passed returns a report and never throws', async () => {
      const sink = fixture().create();
      await sink.open();
      record(sink, 1, 3);
      expectReport(await sink.close(passed()));
    });

    it('a failing destination: flush throws ProviderError and keeps everything queued, in order, for the next flush', async ({ skip }) => {
      if (!fixture().break || !fixture().repair) return skip('the fixture cannot break its destination');
      const sink = fixture().create();
      await fixture().break?.();
      record(sink, 1, 3);
      const err = await rejection(sink.flush());
      expect(err).toBeInstanceOf(ProviderError);
      expectNoSecret(`${(err as Error).message} ${String((err as Error).cause)}`);
      expect(sink.queued, 'nothing queued is lost').toBe(3);
      record(sink, 4, 4);
      await fixture().repair?.();
      await sink.flush();
      expect(sink.queued).toBe(0);
      await expectTrail([1, 2, 3, 4], 1);
    });

    it('a failing destination: close never throws, and says what did not arrive', async ({ skip }) => {
      if (!fixture().break) return skip('the fixture cannot break its destination');
      const sink = fixture().create();
      await fixture().break?.();
      record(sink, 1, 3);
      const report = await sink.close(never());
      expectReport(report);
      expect(report.undelivered).toBe(3);
    });
  });
}
