import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Notifier } from '../../ports/notifier.js';
import type { ProviderDeps } from '../../ports/provider-deps.js';
import { sampleEvents } from './events.js';
import { type Factory, nextProcess, settle, startProcess } from './kit.js';

/** What `describeNotifierContract` needs. */
export interface NotifierFixture extends Factory<Notifier> {
  /** How many deliveries reached the destination so far (log lines, messages posted); absent when it cannot be seen. */
  delivered?(): number;
  /** A notifier over `deps` whose destination fails (a log that throws, a chat API that answers 500). */
  failing?(deps: ProviderDeps): Notifier;
  cleanup?(): void | Promise<void>;
}

/**
 * Registers the shared contract suite of the `Notifier` port: `notify` resolves or rejects for
 * every kind of event (it never hangs, so it never blocks a rollout), `flush` never throws, also
 * when the destination fails, and a later process of the run notifies from the persisted state
 * (a message updated in place). Call it at the top level of a `<impl>.contract.test.ts` file;
 * `setup` runs before every check. A notifier that hangs makes the check time out.
 */
export function describeNotifierContract(name: string, setup: () => Promise<NotifierFixture> | NotifierFixture): void {
  describe(`Notifier contract: ${name}`, () => {
    let f: NotifierFixture | undefined;
    beforeEach(async () => {
      f = await setup();
    });
    afterEach(async () => {
      await f?.cleanup?.();
      f = undefined;
    });
    const fixture = () => f as NotifierFixture;

    it('notify settles for every kind of event, delivers them, and flush resolves', async () => {
      const { provider: notifier } = startProcess(fixture());
      expect(typeof notifier.type).toBe('string');
      const before = fixture().delivered?.() ?? 0;
      for (const event of sampleEvents()) {
        const settled = await settle(notifier.notify(event));
        expect(settled.ok, `${event.kind}: ${settled.ok ? '' : String(settled.error)}`).toBe(true);
      }
      await notifier.flush();
      if (fixture().delivered) expect(fixture().delivered?.(), 'every event reached the destination').toBeGreaterThanOrEqual(before + sampleEvents().length);
    });

    it('flush resolves with nothing in flight, and again after it', async () => {
      const { provider: notifier } = startProcess(fixture());
      await notifier.flush();
      await notifier.flush();
    });

    it('notifications sent together all settle, and flush waits for them without throwing', async () => {
      const { provider: notifier } = startProcess(fixture());
      const pending = sampleEvents().map((event) => settle(notifier.notify(event)));
      await notifier.flush();
      expect((await Promise.all(pending)).every((s) => s.ok)).toBe(true);
    });

    it('a failing destination: notify settles, and flush still resolves', async ({ skip }) => {
      const failing = fixture().failing;
      if (!failing) return skip('the fixture has no failing destination');
      const { deps } = startProcess(fixture());
      const notifier = failing.call(fixture(), deps);
      for (const event of sampleEvents()) await settle(notifier.notify(event));
      await expect(notifier.flush()).resolves.toBeUndefined();
    });

    it('a later process notifies with only the persisted state', async () => {
      const first = startProcess(fixture());
      const [started, ...rest] = sampleEvents();
      await first.provider.notify(started as NonNullable<typeof started>);
      await first.provider.flush();
      const later = nextProcess(fixture(), first);
      for (const event of rest) expect((await settle(later.provider.notify(event))).ok).toBe(true);
      await later.provider.flush();
    });
  });
}

