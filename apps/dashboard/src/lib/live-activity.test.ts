import { describe, expect, it } from 'vitest';
import { formatClock, formatSpan, liveActivity, STALE_AFTER_MS } from './live-activity.ts';

describe('live activity', () => {
  it('is live until the silence passes the threshold, then says how long ago the last event was', () => {
    expect(liveActivity(10_000, 10_000 - STALE_AFTER_MS)).toEqual({ stale: false, label: 'live' });
    expect(liveActivity(10_000, 10_000 - STALE_AFTER_MS - 1000)).toEqual({
      stale: true,
      label: `last event ${STALE_AFTER_MS / 1000 + 1} s ago`,
    });
    expect(liveActivity(0, -4 * 60_000).label).toBe('last event 4 min ago');
  });

  it('writes spans coarsely for a ticking label', () => {
    expect(formatSpan(-5)).toBe('0 s');
    expect(formatSpan(59_999)).toBe('59 s');
    expect(formatSpan(4 * 60_000 + 30_000)).toBe('4 min');
    expect(formatSpan(65 * 60_000)).toBe('1 h 05 min');
  });

  it('writes elapsed time as a clock', () => {
    expect(formatClock(7_900)).toBe('0:07');
    expect(formatClock(245_000)).toBe('4:05');
    expect(formatClock(3_723_000)).toBe('1:02:03');
  });
});
