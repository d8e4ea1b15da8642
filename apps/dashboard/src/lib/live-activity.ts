/**
 * Silence after which a connected live view stops calling the run "live" and says how long ago its last event was.
 * A step's LLM call or tool can be quiet for a few seconds; past this, the reader should know nothing is arriving.
 */
export const STALE_AFTER_MS = 5_000;

/** A span of time, coarse as a ticking label wants it: `3 s`, `4 min`, `1 h 05 min`. */
export function formatSpan(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
}

/** A connected stream's activity at `now`: stale after {@link STALE_AFTER_MS} of silence since `lastActivityAt`. */
export function liveActivity(now: number, lastActivityAt: number): { stale: boolean; label: string } {
  const silent = now - lastActivityAt;
  return silent > STALE_AFTER_MS
    ? { stale: true, label: `last event ${formatSpan(silent)} ago` }
    : { stale: false, label: 'live' };
}

/** Elapsed time as a clock: `0:07`, `4:05`, `1:02:03`. */
export function formatClock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const two = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}
