/** Wall-clock nanoseconds, as precise as the monotonic clock allows (Date.now() alone gives milliseconds). */
const epochOffsetNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

export function nowNs(): bigint {
  return epochOffsetNs + process.hrtime.bigint();
}

/**
 * A database timestamp as a UTC ISO-8601 string with its full (microsecond) precision.
 * Sessions run in UTC, so drivers hand us `2026-11-27 07:00:00.123456+00`; a Date (or another offset) is a fallback.
 */
export function toIso(value: string | Date): string {
  if (value instanceof Date) return value.toISOString();
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?(?:\+00(?::?00)?|Z)$/.exec(value);
  if (m) return `${m[1]}T${m[2]}${m[3] ?? ''}Z`;
  return new Date(value).toISOString();
}

export function toIsoOrNull(value: string | Date | null | undefined): string | null {
  return value == null ? null : toIso(value);
}

export function nsToString(value: bigint | null | undefined): string | null {
  return value == null ? null : value.toString();
}
