import { describe, expect, it } from 'vitest';
import { nsToString, toIso } from './time.ts';

describe('toIso', () => {
  it.each([
    ['2026-11-27 07:00:00+00', '2026-11-27T07:00:00.000000Z'],
    ['2026-11-27 07:00:00.1+00', '2026-11-27T07:00:00.100000Z'],
    ['2026-11-27 07:00:00.12+00', '2026-11-27T07:00:00.120000Z'],
    ['2026-11-27 07:00:00.123456+00', '2026-11-27T07:00:00.123456Z'],
    ['2026-11-27T07:00:00.5Z', '2026-11-27T07:00:00.500000Z'],
    ['2026-11-27 07:00:00.12+02', '2026-11-27T05:00:00.120000Z'],
    ['2026-11-27 07:00:00+05:30', '2026-11-27T01:30:00.000000Z'],
  ])('writes %s as %s: UTC, always six fraction digits', (input, expected) => {
    expect(toIso(input)).toBe(expected);
  });

  it('accepts a Date', () => {
    expect(toIso(new Date(Date.UTC(2026, 10, 27, 7, 0, 0, 120)))).toBe('2026-11-27T07:00:00.120000Z');
  });

  it('keeps the order of instants in the order of strings', () => {
    const values = ['2026-11-27 07:00:00.12+00', '2026-11-27 07:00:00.123+00', '2026-11-27 07:00:00+00'].map(toIso);
    expect([...values].sort()).toEqual([values[2], values[0], values[1]]);
  });
});

describe('nsToString', () => {
  it('writes bigints and the database’s text alike, null as null', () => {
    expect(nsToString(9007199254740993123n)).toBe('9007199254740993123');
    expect(nsToString('9007199254740993123')).toBe('9007199254740993123');
    expect(nsToString(null)).toBeNull();
  });
});
