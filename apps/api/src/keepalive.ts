type Outcome<T> = { result: IteratorResult<T> } | { error: unknown };

export interface KeepaliveOptions<P> {
  /** Quiet time after which a ping is yielded; the timer restarts after every value. */
  intervalMs: number;
  /** The value yielded as a ping. */
  ping: () => P;
  /** Ends the iteration at once (the subscriber left), even while the source is still waiting. */
  signal: AbortSignal;
}

/**
 * `source`'s values, with `ping()` yielded whenever the source has been quiet for `intervalMs` (Letta's keepalive
 * wrapper). One `next()` of the source is in flight at a time and keeps its place across pings: nothing is lost,
 * reordered or read ahead. Each wait attaches one callback, so a long idle stream does not accumulate promise
 * reactions (as `Promise.race` on the same pending promise would).
 */
export async function* withKeepalive<T, P>(
  source: AsyncIterable<T>,
  options: KeepaliveOptions<P>,
): AsyncGenerator<T | P, void> {
  const { intervalMs, signal } = options;
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  let wake: (() => void) | undefined;
  const onAbort = () => wake?.();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    while (!signal.aborted) {
      let outcome: Outcome<T> | undefined;
      iterator.next().then(
        (result) => {
          outcome = { result };
          wake?.();
        },
        (error: unknown) => {
          outcome = { error };
          wake?.();
        },
      );
      while (!outcome) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timedOut = await new Promise<boolean>((resolve) => {
          wake = () => resolve(false);
          timer = setTimeout(() => resolve(true), intervalMs);
        });
        clearTimeout(timer);
        wake = undefined;
        if (signal.aborted) return;
        if (timedOut && !outcome) yield options.ping();
      }
      const settled = outcome as Outcome<T>;
      if ('error' in settled) {
        finished = true;
        throw settled.error;
      }
      if (settled.result.done) {
        finished = true;
        return;
      }
      yield settled.result.value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    // The source ends on the same signal; do not wait for a read still in flight.
    if (!finished) iterator.return?.().catch(() => {});
  }
}
