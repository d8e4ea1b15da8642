/**
 * Times inside a run, to the millisecond: how far after the run's start something happened (`+1.234 s`), and the
 * exact wall-clock time for a hover. Seconds-only timestamps made every message of a run look simultaneous.
 */

/** Milliseconds from `start` to `at` (ISO timestamps or epoch milliseconds); null when either is missing or invalid. */
export function offsetMs(
  start: string | number | null | undefined,
  at: string | number | null | undefined,
): number | null {
  const from = toMs(start);
  const to = toMs(at);
  return from === null || to === null ? null : to - from;
}

function toMs(t: string | number | null | undefined): number | null {
  if (t === null || t === undefined || t === '') return null;
  const ms = typeof t === 'number' ? t : Date.parse(t);
  return Number.isFinite(ms) ? ms : null;
}

/**
 * An offset from the run's start: `+0.042 s`, `+1.234 s`, `+2 min 03.456 s`, `+1 h 02 min 03.456 s`; a negative one
 * (a producer's clock behind the api's) with a minus sign. Always to the millisecond, so neighbours can be told apart.
 */
export function formatOffset(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const sign = ms < 0 ? '−' : '+';
  let rest = Math.round(Math.abs(ms));
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = (rest / 1000).toFixed(3);
  if (hours) return `${sign}${hours} h ${String(minutes).padStart(2, '0')} min ${seconds.padStart(6, '0')} s`;
  if (minutes) return `${sign}${minutes} min ${seconds.padStart(6, '0')} s`;
  return `${sign}${seconds} s`;
}

const exact = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  fractionalSecondDigits: 3,
  timeZoneName: 'short',
});

/** A timestamp (ISO or epoch ms) in the viewer's time zone to the millisecond, with the zone: for a hover. */
export function formatExactTime(t: string | number | null | undefined): string {
  const ms = toMs(t);
  return ms === null ? '—' : exact.format(new Date(ms));
}

/** An ISO string for a `<time dateTime>` attribute, or undefined when the time is unknown. */
export function isoOf(t: string | number | null | undefined): string | undefined {
  const ms = toMs(t);
  return ms === null ? undefined : new Date(ms).toISOString();
}
