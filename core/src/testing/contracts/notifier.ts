import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../model/events.js';
import type { RunMessage } from '../../model/run-message.js';
import type { Notifier } from '../../ports/notifier.js';
import type { ProviderDeps } from '../../ports/provider-deps.js';
import { DeliveryError } from '../../errors.js';
import { MessageDigest } from '../../notifiers/digest.js';
import { sampleEvents } from './events.js';
import { type Factory, nextProcess, settle, startProcess } from './kit.js';

/** What `describeNotifierContract` needs. */
export interface NotifierFixture extends Factory<Notifier> {
  /** How many deliveries reached the destination so far (log lines, messages posted or updated); absent when it cannot be seen. */
  delivered?(): number;
  /** A notifier over `deps` whose destination fails (a log that throws, a chat API that answers 500). */
  failing?(deps: ProviderDeps): Notifier;
  /** Secret values (tokens, webhook URLs) that must appear in no error message. */
  secrets?: string[];
  cleanup?(): void | Promise<void>;
}

/** Each sample event with the run's message right after it, as the engine hands them to `notify`. */
export function sampleNotifications(runId = 'run-1'): { event: RunEvent; message: RunMessage }[] {
  const digest = new MessageDigest();
  return sampleEvents(runId).map((event) => {
    digest.apply(event);
    return { event, message: digest.message(event) };
  });
}

/**
 * Registers the shared contract suite of the `Notifier` port: `notify` resolves for every kind of
 * event with its message (it never hangs: the engine's queue waits on it), a failing destination
 * rejects with a classified `DeliveryError` whose message holds no secret, `progress` (when there
 * is one) is safe before and after the first message, and a later process of the run notifies
 * from the persisted state alone. Call it at the top level of a `<impl>.contract.test.ts` file;
 * `setup` runs before every check.
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

    it('names itself and its destination, and delivers every kind of event with its message', async () => {
      const { provider: notifier } = startProcess(fixture());
      expect(notifier.type).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(notifier.destination.length).toBeGreaterThan(0);
      for (const secret of fixture().secrets ?? []) expect(notifier.destination).not.toContain(secret);
      const before = fixture().delivered?.() ?? 0;
      for (const { event, message } of sampleNotifications()) {
        const settled = await settle(notifier.notify(event, message));
        expect(settled.ok, `${event.kind}: ${settled.ok ? '' : String(settled.error)}`).toBe(true);
      }
      if (fixture().delivered) expect(fixture().delivered?.(), 'every event reached the destination').toBeGreaterThanOrEqual(before + sampleEvents().length);
    });

    it('progress, when it has it, is safe before the first message and after it', async () => {
      const { provider: notifier } = startProcess(fixture());
      if (!notifier.progress) return;
      const [first, ...rest] = sampleNotifications();
      if (!first) return;
      expect((await settle(notifier.progress(first.message))).ok).toBe(true);
      await notifier.notify(first.event, first.message);
      for (const { message } of rest) expect((await settle(notifier.progress(message))).ok).toBe(true);
    });

    it('a failing destination rejects with a classified DeliveryError that names no secret', async ({ skip }) => {
      const failing = fixture().failing;
      if (!failing) return skip('the fixture has no failing destination');
      const { deps } = startProcess(fixture());
      const notifier = failing.call(fixture(), deps);
      const [first] = sampleNotifications();
      const settled = await settle(notifier.notify((first as { event: RunEvent }).event, (first as { message: RunMessage }).message));
      expect(settled.ok).toBe(false);
      const err = settled.ok ? undefined : settled.error;
      expect(err).toBeInstanceOf(DeliveryError);
      for (const secret of fixture().secrets ?? []) expect(String((err as Error).message)).not.toContain(secret);
    });

    it('a later process notifies with only the persisted state', async () => {
      const first = startProcess(fixture());
      const [started, ...rest] = sampleNotifications();
      if (!started) return;
      await first.provider.notify(started.event, started.message);
      const later = nextProcess(fixture(), first);
      for (const { event, message } of rest) expect((await settle(later.provider.notify(event, message))).ok).toBe(true);
    });
  });
}
