import type { ProviderState } from '../ports/provider-state.js';

/**
 * Provider state kept in memory, as the run journal keeps it: for testing providers outside the
 * engine. `reopen()` is what a later process of the same run would read (the values as JSON, no
 * live object), so a test can undo from "another process" with only the persisted state.
 */
export class MemoryProviderStates {
  private readonly kept = new Map<string, unknown>();
  private readonly lives = new Map<string, { toJSON(): unknown }>();
  /** Writes so far (each `put`): a provider must write before the change it needs to undo. */
  puts = 0;

  handle(key: string): ProviderState {
    return {
      get: () => this.kept.get(key),
      put: async (value) => {
        this.kept.set(key, JSON.parse(JSON.stringify(value ?? null)) as unknown);
        this.puts += 1;
      },
      live: <T extends { toJSON(): unknown }>(create: (kept: unknown) => T): T => {
        let live = this.lives.get(key) as T | undefined;
        if (!live) {
          live = create(this.kept.get(key));
          this.lives.set(key, live);
        }
        return live;
      },
    };
  }

  /** Everything kept, with the live objects as they stand: what a journal write would hold. */
  snapshot(): Record<string, unknown> {
    const out: Record<string, unknown> = Object.fromEntries(this.kept);
    for (const [key, live] of this.lives) out[key] = live.toJSON();
    return JSON.parse(JSON.stringify(out)) as Record<string, unknown>;
  }

  /** A new process's view of the same run: what was kept, read back from JSON. */
  reopen(): MemoryProviderStates {
    const next = new MemoryProviderStates();
    for (const [key, value] of Object.entries(this.snapshot())) next.kept.set(key, value);
    return next;
  }
}
