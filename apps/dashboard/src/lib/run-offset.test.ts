import { describe, expect, it } from 'vitest';
import { formatExactTime, formatOffset, isoOf, offsetMs } from './run-offset.ts';

describe('times inside a run', () => {
  it('measures offsets to the millisecond between ISO timestamps (microseconds as the api sends them)', () => {
    expect(offsetMs('2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:01.234567Z')).toBe(1234);
    expect(offsetMs('2025-01-01T00:00:00Z', Date.UTC(2025, 0, 1, 0, 0, 0, 42))).toBe(42);
    expect(offsetMs(null, '2025-01-01T00:00:00Z')).toBeNull();
    expect(offsetMs('2025-01-01T00:00:00Z', 'not a time')).toBeNull();
  });

  it('writes offsets as +s.mmm, with minutes and hours past them, and a minus sign before the start', () => {
    expect(formatOffset(0)).toBe('+0.000 s');
    expect(formatOffset(42)).toBe('+0.042 s');
    expect(formatOffset(1234)).toBe('+1.234 s');
    expect(formatOffset(1234.6)).toBe('+1.235 s');
    expect(formatOffset(59_999)).toBe('+59.999 s');
    expect(formatOffset(123_456)).toBe('+2 min 03.456 s');
    expect(formatOffset(3_723_456)).toBe('+1 h 02 min 03.456 s');
    expect(formatOffset(-12)).toBe('−0.012 s');
    expect(formatOffset(null)).toBe('—');
    expect(formatOffset(Number.NaN)).toBe('—');
  });

  it('writes the exact time to the millisecond, for a hover', () => {
    expect(formatExactTime('2025-01-01T10:20:30.456Z')).toMatch(/30[.,]456/);
    expect(formatExactTime(null)).toBe('—');
    expect(isoOf('2025-01-01T10:20:30.456789Z')).toBe('2025-01-01T10:20:30.456Z');
    expect(isoOf('')).toBeUndefined();
  });
});
