/**
 * Time as the engine sees it. The real clock uses wall time; the virtual clock (simulated
 * infrastructure) makes long waits cost no real time.
 */
export interface Clock {
  /**
   * `true` for a virtual clock, whose time is simulated: events then also carry the wall time
   * (`wallTime`), so what a person or a real system did is recorded at the moment it happened.
   */
  readonly simulated?: boolean;
  /** Milliseconds since the epoch on this clock. */
  now(): number;
  /**
   * Resolves after `ms` on this clock. Rejects with the signal's reason as soon as `signal` aborts;
   * never resolves after an abort.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Calls `fn` once `ms` have passed on this clock or in wall time, whichever comes first, so a
   * deadline still fires when a real process hangs under a virtual clock. Returns a cancel function.
   */
  setTimer(ms: number, fn: () => void): () => void;
  /**
   * Marks real work (a journal write) in progress: a virtual clock does not move until it ends,
   * so simulated time cannot race ahead of a disk write. The wall clock ignores it.
   */
  hold?<T>(work: Promise<T>): Promise<T>;
}
