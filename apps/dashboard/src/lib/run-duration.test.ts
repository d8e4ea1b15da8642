import { describe, expect, it } from 'vitest';
import { clocksDisagree, runDuration } from './run-duration.ts';

const base = { ttftNs: null, createdAt: '2025-01-01T00:00:00.000Z', completedAt: null, totalDurationNs: null };

describe("a run's duration", () => {
  it('is the api’s recorded figure once the run has ended (run_ns), whatever the wall clock says', () => {
    const run = { ...base, completedAt: '2025-01-01T00:00:09.000Z', totalDurationNs: '204000000' };
    expect(runDuration(run)).toMatchObject({ ns: 204_000_000, source: 'recorded' });
    expect(runDuration(run).explanation).toContain('run_metrics.run_ns');
  });

  it('falls back to creation → completion when an ended run has none, and to the time so far while active', () => {
    expect(runDuration({ ...base, completedAt: '2025-01-01T00:00:01.500Z' })).toMatchObject({
      ns: 1_500_000_000,
      source: 'elapsed',
    });
    expect(runDuration(base, Date.parse('2025-01-01T00:00:02.000Z'))).toMatchObject({
      ns: 2_000_000_000,
      source: 'elapsed',
    });
    expect(runDuration({ ...base, totalDurationNs: '700000000' })).toMatchObject({ ns: 7e8, source: 'reported' });
  });

  it('flags a time to first token longer than the duration: the two come from different clocks', () => {
    const ended = { ...base, completedAt: '2025-01-01T00:00:00.204Z', totalDurationNs: '204000000' };
    expect(clocksDisagree({ ...ended, ttftNs: '586000000' })).toBe(true);
    expect(clocksDisagree({ ...ended, ttftNs: '86000000' })).toBe(false);
    expect(clocksDisagree(ended)).toBe(false);
  });
});
