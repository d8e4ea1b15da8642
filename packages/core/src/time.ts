import { z } from 'zod';

/** The earliest and latest instants every store holds (Postgres timestamptz as `toIso` writes it, ClickHouse, JSON). */
export const TIMESTAMP_MIN = '0001-01-01T00:00:00Z';
export const TIMESTAMP_MAX = '9999-12-31T23:59:59.999999Z';
/** Postgres refuses UTC offsets beyond ±15:59; RFC 3339 (and zod) allow ±23:59. */
export const MAX_UTC_OFFSET = '15:59';

const MICROS_PER_DAY = 86_400_000_000n;

/** Days since 1970-01-01 of a proleptic Gregorian date, for any year (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

const MIN_MICROS = BigInt(daysFromCivil(1, 1, 1)) * MICROS_PER_DAY;
const MAX_MICROS = BigInt(daysFromCivil(9999, 12, 31) + 1) * MICROS_PER_DAY - 1n;

/** RFC 3339 as zod's `z.iso.datetime({ offset: true })` has already checked it; only the numbers are read here. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * Why an RFC 3339 date-time cannot be stored, or null. The instant is bounded in UTC, after Postgres rounds it to
 * microseconds (rounded half up here, so nothing rounds past the end), because that is what reads render.
 */
export function timestampRangeIssue(text: string): string | null {
  const m = RFC3339.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (y === 0) return `year 0000 does not exist; the earliest is 0001 (${TIMESTAMP_MIN})`;
  const offsetMinutes = m[8] ? (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10])) : 0;
  if (Math.abs(offsetMinutes) > 15 * 60 + 59) return `the UTC offset must be within ±${MAX_UTC_OFFSET} (Z for UTC)`;
  const digits = m[7] ?? '';
  // Half up, the most Postgres can round to; an exact half at the very end is refused rather than guessed.
  const roundUp = digits.length > 6 && digits[6]! >= '5' ? 1n : 0n;
  const seconds = BigInt(daysFromCivil(y, mo, d)) * 86_400n + BigInt(h * 3600 + mi * 60 + s - offsetMinutes * 60);
  const micros = seconds * 1_000_000n + BigInt(digits.slice(0, 6).padEnd(6, '0')) + roundUp;
  if (micros < MIN_MICROS || micros > MAX_MICROS) {
    return `must be between ${TIMESTAMP_MIN} and ${TIMESTAMP_MAX} in UTC`;
  }
  return null;
}

/**
 * The one schema of every timestamp input (tRPC, REST, stream events, provider traces): an RFC 3339 date-time with
 * `Z` or an offset, bounded to what every store holds and every read can render ({@link timestampRangeIssue}).
 */
export const timestampInputSchema = z.iso.datetime({ offset: true }).superRefine((value, ctx) => {
  const issue = timestampRangeIssue(value);
  if (issue) ctx.addIssue({ code: 'custom', message: issue, input: value });
});

/** Wall-clock nanoseconds, as precise as the monotonic clock allows (Date.now() alone gives milliseconds). */
const epochOffsetNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

export function nowNs(): bigint {
  return epochOffsetNs + process.hrtime.bigint();
}

/** A UTC timestamp of years 0001–9999 (`+00`, `+00:00`, `+0000` or `Z`), with up to six fraction digits. */
const UTC_ISO = /^((?!0000)\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(?:\+00(?::?00)?|Z)$/;

/**
 * A database timestamp as a UTC ISO-8601 string with microseconds, always six digits (`…07:00:00.120000Z`), so
 * that the strings sort as the instants do. Postgres drops trailing zeros (`.12`), which would sort after `.123`.
 * Sessions run in UTC, so drivers hand us `2026-11-27 07:00:00.12+00`; a Date (or another offset) is a fallback.
 */
export function toIso(value: string | Date): string {
  const text = value instanceof Date ? (Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString()) : value;
  // What the drivers hand us, `2026-11-27 07:00:00[.ffffff]+00`, by slicing (a list of 100 runs converts 400).
  const n = text.length;
  if (
    n >= 22 &&
    n <= 29 &&
    n !== 23 &&
    text.charCodeAt(10) === 32 &&
    text.endsWith('+00') &&
    (n === 22 || text[19] === '.')
  ) {
    const fraction = n === 22 ? '' : text.slice(20, n - 3);
    return `${text.slice(0, 10)}T${text.slice(11, 19)}.${fraction.padEnd(6, '0')}Z`;
  }
  const m = UTC_ISO.exec(text);
  if (m) return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(6, '0')}Z`;
  // Another offset, or a Date: once through Date, whose ISO form the pattern reads unless the year is beyond 0001–9999.
  const date = value instanceof Date ? value : new Date(text);
  const utc = Number.isNaN(date.getTime()) ? null : UTC_ISO.exec(date.toISOString());
  if (!utc)
    throw new Error(`Timestamp ${JSON.stringify(text)} cannot be written as an ISO-8601 timestamp of years 0001–9999`);
  return `${utc[1]}T${utc[2]}.${(utc[3] ?? '').padEnd(6, '0')}Z`;
}

export function toIsoOrNull(value: string | Date | null | undefined): string | null {
  return value == null ? null : toIso(value);
}

/** Nanoseconds as the API writes them: a decimal string (JSON numbers lose precision past 2^53). */
export function nsToString(value: bigint | string | null | undefined): string | null {
  return value == null ? null : String(value);
}
