/**
 * A small JSON value a provider keeps in the run journal, so that a later process of the same run
 * (the job that resumes after a gate, or after a crash) knows what an earlier one did: the name of
 * the canary Deployment, the route as it was before rollgate touched it, the chat message to
 * update in place, the simulated world.
 */
export interface ProviderState {
  /** What was kept under this provider's key, by this process or an earlier one; `undefined` at first. */
  get(): unknown;
  /**
   * Keeps `value` (JSON) and writes the journal: it resolves once the value is on disk. Call it
   * before the change it is needed to undo, as an undo is recorded before its change. Throws when
   * the journal cannot be written: then the change must not happen.
   */
  put(value: unknown): Promise<void>;
  /**
   * The live object of this key in this process, made once by `create` from what was kept; from
   * then on what its `toJSON()` returns is kept at every journal write (a world that changes all the
   * time, persisted as it stands at each transition).
   */
  live<T extends { toJSON(): unknown }>(create: (kept: unknown) => T): T;
}
