import type { RunJournal } from '../model/journal.js';
import type { ProviderState } from '../ports/provider-state.js';

/**
 * The providers' states in the run journal (`journal.providers`), by key: `target/web`,
 * `router/web`, `metrics/prom@production`, `FAMILY@production` for a family's shared state. A put
 * writes the journal before it resolves; a live object is captured at every write.
 */
export class ProviderStates {
  private readonly lives = new Map<string, { toJSON(): unknown }>();

  constructor(
    private readonly journal: RunJournal,
    /** Writes the journal; rejects when it cannot. */
    private readonly save: () => Promise<void>,
  ) {}

  handle(key: string): ProviderState {
    return {
      get: () => this.journal.providers?.[key],
      put: async (value) => {
        (this.journal.providers ??= {})[key] = value;
        await this.save();
      },
      live: <T extends { toJSON(): unknown }>(create: (kept: unknown) => T): T => {
        let live = this.lives.get(key) as T | undefined;
        if (!live) {
          live = create(this.journal.providers?.[key]);
          this.lives.set(key, live);
        }
        return live;
      },
    };
  }

  /** Just before a journal write: every live object's state, as it stands. */
  capture(): void {
    if (this.lives.size === 0) return;
    const providers = (this.journal.providers ??= {});
    for (const [key, live] of this.lives) providers[key] = live.toJSON();
  }
}
