import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApprovalStatus } from '../../model/results.js';
import type { ApprovalRequest, Approver } from '../../ports/approver.js';
import type { Clock } from '../../ports/clock.js';
import { abortedCall, contractCall, type Factory, nextProcess, settle, startProcess } from './kit.js';

/** What `describeApproverContract` needs. */
export interface ApproverFixture extends Factory<Approver> {
  /** The contexts' clock, the same as the deps' (default: wall time). */
  clock?: Clock;
  /** The decision this approver, as configured, gives (`pending` for one that never decides in-process). */
  decides: ApprovalStatus;
  cleanup?(): void | Promise<void>;
}

const STATUSES: readonly ApprovalStatus[] = ['approved', 'rejected', 'pending'];

/** A request for stage `web` of version v2 to production. */
export const sampleApprovalRequest: ApprovalRequest = { gate: 'web', stage: 'web', environment: 'production', version: 'v2', message: 'ship v2?' };

/**
 * Registers the shared contract suite of the `Approver` port: `request` returns a decision with a
 * valid status (the one the fixture expects; `pending` hands the decision to `resume`), with `by`
 * and an ISO `at` when it says who and when, reports no infrastructure change, works again in a
 * later process, and returns promptly when its signal is already aborted. Call it at the top
 * level of a `<impl>.contract.test.ts` file; `setup` runs before every check.
 */
export function describeApproverContract(name: string, setup: () => Promise<ApproverFixture> | ApproverFixture): void {
  describe(`Approver contract: ${name}`, () => {
    let f: ApproverFixture | undefined;
    beforeEach(async () => {
      f = await setup();
    });
    afterEach(async () => {
      await f?.cleanup?.();
      f = undefined;
    });
    const fixture = () => f as ApproverFixture;

    it('returns a well-formed decision with the expected status, and changes nothing', async () => {
      const { provider: approver } = startProcess(fixture());
      expect(typeof approver.type).toBe('string');
      const call = contractCall({ clock: fixture().clock });
      const decision = await approver.request(sampleApprovalRequest, call.ctx);
      expect(STATUSES).toContain(decision.status);
      expect(decision.status).toBe(fixture().decides);
      if (decision.by !== undefined) expect(typeof decision.by).toBe('string');
      if (decision.comment !== undefined) expect(typeof decision.comment).toBe('string');
      if (decision.at !== undefined) expect(new Date(decision.at).toISOString(), 'at is an ISO time').toBe(decision.at);
      expect(JSON.parse(JSON.stringify(decision)), 'the decision is kept in the journal as it is').toEqual(decision);
      expect(call.changes).toEqual([]);
    });

    it('asks again with the same answer, also from a later process', async () => {
      const first = startProcess(fixture());
      const ctx = () => contractCall({ clock: fixture().clock }).ctx;
      expect((await first.provider.request(sampleApprovalRequest, ctx())).status).toBe(fixture().decides);
      expect((await first.provider.request(sampleApprovalRequest, ctx())).status).toBe(fixture().decides);
      const later = nextProcess(fixture(), first);
      expect((await later.provider.request(sampleApprovalRequest, ctx())).status).toBe(fixture().decides);
    });

    it('returns promptly when its signal is already aborted', async () => {
      const { provider: approver } = startProcess(fixture());
      const settled = await settle(approver.request(sampleApprovalRequest, abortedCall({ clock: fixture().clock }).ctx));
      if (settled.ok) expect(STATUSES).toContain(settled.value.status);
    });
  });
}
