import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JournalError } from '../../errors.js';
import { JOURNAL_FORMAT, type RunJournal } from '../../model/journal.js';
import type { RunStore } from '../../ports/run-store.js';
import { rejection } from './kit.js';

/** What `describeRunStoreContract` needs: an empty store, and where it can, its raw bytes. */
export interface RunStoreFixture {
  /** A store with no journal yet. */
  store: RunStore;
  /** Another store over the same place, as a later process opens it; absent when the journal lives in this process only. */
  reopen?(): RunStore;
  /** Puts `text` where the journal is, as a crash or a hand edit would leave it; absent when there are no raw bytes. */
  damage?(text: string): Promise<void>;
  /** The raw bytes where the journal is (`undefined`: none), to check a refused journal is left as it is. */
  raw?(): Promise<string | undefined>;
  /** Every file beside the journal: after saves only the journal is left (no temporary files). */
  files?(): Promise<string[]>;
  cleanup?(): void | Promise<void>;
}

/** A journal that validates (see engine/journal-schema.ts): a paused canary with one undo and provider state. */
export function sampleJournal(overrides: Partial<RunJournal> = {}): RunJournal {
  return {
    format: JOURNAL_FORMAT,
    runId: 'web-1',
    workflow: { name: 'web', path: '/work/web.yml', sha256: 'a'.repeat(64) },
    context: { actor: 'alice', ci: 'local' },
    inputs: { version: 'v2' },
    selection: {},
    status: 'paused',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:05:00.000Z',
    seq: 12,
    stages: {
      web: {
        status: 'paused',
        environment: 'production',
        version: 'v2',
        strategy: 'canary',
        steps: [{ id: 'step-1', action: 'deploy-candidate', status: 'succeeded', attempts: 1 }],
        compensations: [
          { id: 'web/step-1/candidate.remove', stepId: 'step-1', description: 'remove v2', op: 'candidate.remove', params: { previous: null }, status: 'pending', attempts: 0 },
        ],
        pausedAt: 'step-2',
        facts: { running: 'v1' },
      },
    },
    providers: { 'router/web': { found: null }, 'sim@production': { any: ['json', 1, true, null] } },
    ...overrides,
  };
}

/**
 * Registers the shared contract suite of the `RunStore` port: `load` of nothing is `undefined`,
 * save/load round-trips, a save replaces the journal whole and atomically (a reader during saves
 * sees the old or the new one, never a part; no temporary file is left), a later process reads
 * what was saved, and a damaged or foreign journal is refused with `JournalError` and left as it
 * is. Call it at the top level of a `<impl>.contract.test.ts` file; `setup` runs before every check.
 */
export function describeRunStoreContract(name: string, setup: () => Promise<RunStoreFixture> | RunStoreFixture): void {
  describe(`RunStore contract: ${name}`, () => {
    let f: RunStoreFixture | undefined;
    beforeEach(async () => {
      f = await setup();
    });
    afterEach(async () => {
      await f?.cleanup?.();
      f = undefined;
    });
    const fixture = () => f as RunStoreFixture;

    it('load of nothing is undefined, and says where it looks', async () => {
      expect(typeof fixture().store.location).toBe('string');
      expect(fixture().store.location).not.toBe('');
      expect(await fixture().store.load()).toBeUndefined();
    });

    it('save then load round-trips the journal', async () => {
      const journal = sampleJournal();
      await fixture().store.save(journal);
      expect(await fixture().store.load()).toEqual(journal);
    });

    it('a save replaces the journal whole: nothing of the old one is merged in', async () => {
      await fixture().store.save(sampleJournal());
      const next = sampleJournal({ status: 'succeeded', seq: 20, stages: {} });
      delete next.providers;
      await fixture().store.save(next);
      expect(await fixture().store.load()).toEqual(next);
    });

    it('a save is atomic: a reader during saves sees the old or the new journal, never a part, and no temp file is left', async () => {
      const [a, b] = [sampleJournal({ seq: 1 }), sampleJournal({ seq: 2, status: 'running', inputs: { version: 'v3'.repeat(2_000) } })];
      await fixture().store.save(a);
      const reads: Promise<RunJournal | undefined>[] = [];
      const saves: Promise<void>[] = [];
      for (let i = 0; i < 20; i++) {
        saves.push(fixture().store.save(i % 2 === 0 ? b : a));
        reads.push(fixture().store.load());
      }
      await Promise.all(saves);
      for (const read of await Promise.all(reads)) expect([1, 2]).toContain(read?.seq);
      // Concurrent saves may land in any order (the engine queues its own); the last one is whole.
      expect([1, 2]).toContain((await fixture().store.load())?.seq);
      const files = await fixture().files?.();
      if (files) expect(files, 'only the journal is left').toHaveLength(1);
    });

    it('a later process reads what was saved', async ({ skip }) => {
      const reopen = fixture().reopen;
      if (!reopen) return skip('the journal of this store lives in one process');
      const journal = sampleJournal();
      await fixture().store.save(journal);
      const later = reopen.call(fixture());
      expect(later.location).toBe(fixture().store.location);
      expect(await later.load()).toEqual(journal);
    });

    const damaged: Record<string, string> = {
      'cut short': JSON.stringify(sampleJournal()).slice(0, 60),
      'of another tool': JSON.stringify({ name: 'package', version: '1.0.0' }),
      'edited by hand': JSON.stringify({ ...sampleJournal(), status: 'done', stages: { web: { status: 'running' } } }),
      'naming an unknown undo operation': JSON.stringify(
        sampleJournal({ stages: { web: { ...(sampleJournal().stages.web as NonNullable<RunJournal['stages']['web']>), compensations: [{ id: 'x', stepId: 's', description: 'd', op: 'rm-rf' as never, params: {}, status: 'pending', attempts: 0 }] } } }),
      ),
    };
    for (const [what, text] of Object.entries(damaged)) {
      it(`a journal ${what} is refused with JournalError and left as it is`, async ({ skip }) => {
        const { store, damage, raw } = fixture();
        if (damage) await damage(text);
        // Without raw bytes, the damage goes through the port, as a store that keeps what it is given.
        else if (what !== 'cut short') await store.save(JSON.parse(text) as RunJournal);
        else return skip('a journal cut short can only be written as raw bytes');
        const before = await raw?.();
        expect(await rejection(store.load())).toBeInstanceOf(JournalError);
        expect(await rejection(store.load()), 'refused again: nothing was repaired or removed').toBeInstanceOf(JournalError);
        if (raw) expect(await raw()).toBe(before);
      });
    }
  });
}
