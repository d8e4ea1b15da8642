import { describe, expect, it } from 'vitest';
import { nsToString, timestampInputSchema, toIso } from './time.ts';

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

describe('toIso beyond the years it can write', () => {
  it.each([
    ['a Date in year 10000', new Date('9999-12-31T23:59:59-14:00')],
    ['a Date before year 0001', new Date('0001-01-01T00:00:00+14:00')],
    ['an invalid Date', new Date('nonsense')],
    ['a year-10000 string', '10000-01-01 13:59:59+00'],
    ['a BC string as Postgres writes it', '0001-12-31 10:00:00+00 BC'],
    ['garbage', 'not a timestamp'],
  ])('throws an error (no endless recursion) for %s', (_name, value) => {
    expect(() => toIso(value)).toThrow(/cannot be written as an ISO-8601 timestamp/);
  });
});

describe('timestampInputSchema', () => {
  const ok = (v: string) => timestampInputSchema.safeParse(v).success;
  const message = (v: string) => timestampInputSchema.safeParse(v).error?.issues[0]?.message;

  it.each([
    '0001-01-01T00:00:00Z',
    '0001-01-01T00:00:00-14:00',
    '0001-01-01T15:59:00+15:59',
    '9999-12-31T23:59:59.999999Z',
    '9999-12-31T23:59:59.9999991Z',
    '9999-12-31T08:00:00-15:59',
    '2024-01-01T00:00:00+15:59',
    '2024-01-01T00:00:00-15:59',
    '2000-02-29T23:59:59.123456789+05:30',
  ])('accepts %s', (v) => {
    expect(ok(v)).toBe(true);
  });

  it.each([
    ['9999-12-31T23:59:59-14:00', /0001-01-01T00:00:00Z and 9999-12-31T23:59:59\.999999Z/],
    ['0001-01-01T00:00:00+14:00', /0001-01-01T00:00:00Z and 9999-12-31T23:59:59\.999999Z/],
    ['0001-01-01T00:00:00.5+00:01', /0001-01-01T00:00:00Z and 9999-12-31T23:59:59\.999999Z/],
    ['9999-12-31T23:59:59.9999995Z', /0001-01-01T00:00:00Z and 9999-12-31T23:59:59\.999999Z/],
    ['0000-01-01T00:00:00Z', /year 0000/],
    ['0000-12-31T23:00:00-02:00', /year 0000/],
    ['2024-01-01T00:00:00+23:00', /UTC offset .*15:59/],
    ['2024-01-01T00:00:00-16:00', /UTC offset .*15:59/],
    ['yesterday', /datetime|date/i],
  ])('refuses %s, saying why', (v, why) => {
    expect(ok(v)).toBe(false);
    expect(message(v)).toMatch(why);
  });
});
