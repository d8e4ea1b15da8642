import { z } from 'zod';

/**
 * An ISO-8601 date-time with an offset, as inputs take them. zod accepts year 0000, which Postgres refuses
 * (there is no year 0), so it is refused here with the field named rather than by the database.
 */
export const timestampInputSchema = z.iso
  .datetime({ offset: true })
  .refine((v) => !v.startsWith('0000-'), { error: 'year 0000 does not exist; the earliest is 0001' });

/** Wall-clock nanoseconds, as precise as the monotonic clock allows (Date.now() alone gives milliseconds). */
const epochOffsetNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

export function nowNs(): bigint {
  return epochOffsetNs + process.hrtime.bigint();
}

/**
 * A database timestamp as a UTC ISO-8601 string with microseconds, always six digits (`…07:00:00.120000Z`), so
 * that the strings sort as the instants do. Postgres drops trailing zeros (`.12`), which would sort after `.123`.
 * Sessions run in UTC, so drivers hand us `2026-11-27 07:00:00.12+00`; a Date (or another offset) is a fallback.
 */
export function toIso(value: string | Date): string {
  const text = value instanceof Date ? value.toISOString() : value;
  // What the drivers hand us, `2026-11-27 07:00:00[.ffffff]+00`, by slicing (a list of 100 runs converts 400).
  const n = text.length;
  if (n >= 22 && n <= 29 && n !== 23 && text.charCodeAt(10) === 32 && text.endsWith('+00') && (n === 22 || text[19] === '.')) {
    const fraction = n === 22 ? '' : text.slice(20, n - 3);
    return `${text.slice(0, 10)}T${text.slice(11, 19)}.${fraction.padEnd(6, '0')}Z`;
  }
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(?:\+00(?::?00)?|Z)$/.exec(text);
  if (m) return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(6, '0')}Z`;
  return toIso(new Date(text));
}

export function toIsoOrNull(value: string | Date | null | undefined): string | null {
  return value == null ? null : toIso(value);
}

/** Nanoseconds as the API writes them: a decimal string (JSON numbers lose precision past 2^53). */
export function nsToString(value: bigint | string | null | undefined): string | null {
  return value == null ? null : String(value);
}
