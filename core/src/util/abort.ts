/**
 * A controller that follows `parent`: it aborts when the parent does, and at once when the parent
 * already has. `addEventListener('abort')` alone misses a parent that aborted before it was
 * called, and work started under such a child would never stop (an analysis measuring forever on
 * the virtual clock). `dispose` removes the listener once the work is over.
 */
export function followAbort(parent: AbortSignal): { controller: AbortController; dispose: () => void } {
  const controller = new AbortController();
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { controller, dispose: () => {} };
  }
  const onAbort = () => controller.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  return { controller, dispose: () => parent.removeEventListener('abort', onAbort) };
}

/** Rejects with the signal's reason once it aborts (at once if it already has). */
export function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
