import { describe, expect, it } from 'vitest';
import { formatRelative, formatTime, formatUsd, shortId } from './format.ts';

describe('formatting for the runs list', () => {
  it('says how long ago, and gives the date past 30 days', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    const ago = (ms: number) => formatRelative(new Date(now - ms).toISOString(), now);
    expect(ago(1_000)).toBe('just now');
    expect(ago(-60_000)).toBe('just now');
    expect(ago(42_000)).toBe('42 s ago');
    expect(ago(3 * 60_000 + 59_000)).toBe('3 min ago');
    expect(ago(5 * 3_600_000)).toBe('5 h ago');
    expect(ago(12 * 86_400_000)).toBe('12 d ago');
    const old = new Date(now - 40 * 86_400_000).toISOString();
    expect(formatRelative(old, now)).toBe(formatTime(old));
    expect(formatRelative(null, now)).toBe('—');
    expect(formatRelative('2026-03-01T11:57:00.123456Z', now)).toBe('2 min ago');
  });

  it("writes the api's USD strings as dollars", () => {
    expect(formatUsd(null)).toBe('—');
    expect(formatUsd('0')).toBe('$0.00');
    expect(formatUsd('0.000000000001')).toBe('< $0.000001');
    expect(formatUsd('0.0042')).toBe('$0.0042');
    expect(formatUsd('0.123456')).toBe('$0.1235');
    expect(formatUsd('0.001234567')).toBe('$0.001235');
    expect(formatUsd('0.05')).toBe('$0.05');
    expect(formatUsd('12.3456')).toBe('$12.35');
    expect(formatUsd('1234.5')).toBe('$1,234.50');
    expect(formatUsd('9000000')).toBe('$9,000,000.00');
  });

  it('cuts ids to their prefix and 8 characters', () => {
    expect(shortId('run-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d')).toBe('run-1a2b3c4d…');
    expect(shortId('agent-1a2b3c4d-5e6f')).toBe('agent-1a2b3c4d…');
    expect(shortId('run-1a2b')).toBe('run-1a2b');
    expect(shortId('plain')).toBe('plain');
  });
});
