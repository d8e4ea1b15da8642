import { describe, expect, it } from 'vitest';
import { type BackendHealthRow, overallHealth, type TelemetryHealth } from './health-status.ts';
import { formatBytes } from './units.ts';

const NOW = 1_800_000_000_000;

const backend = (extra: Partial<BackendHealthRow> = {}): BackendHealthRow => ({
  backend: 'postgres',
  writesOk: 10,
  writesFailed: 0,
  writesTimedOut: 0,
  dropped: 0,
  possiblyLost: 0,
  queueDepth: 0,
  queueBytes: 0,
  reconnects: 0,
  latency: { count: 10, p50Ms: 2, p99Ms: 9 },
  lastOkAt: NOW - 1000,
  lastFailureAt: null,
  lastDroppedAt: null,
  ...extra,
});

const health = (backends: BackendHealthRow[], otlp: Partial<TelemetryHealth['otlp']> = {}): TelemetryHealth => ({
  now: NOW,
  backends,
  otlp: {
    enabled: true,
    spans: { written: 5, rejected: 0, failed: 0 },
    requests: {
      accepted: 1,
      partial: 0,
      malformed: 0,
      unauthorized: 0,
      too_large: 0,
      unsupported: 0,
      not_implemented: 0,
      unavailable: 0,
      internal: 0,
    },
    rejectedByReason: [],
    lastWrittenAt: NOW - 500,
    lastFailureAt: null,
    lastRejectedAt: null,
    server: { queueDepth: 0, queueBytes: 0, unattributedRequests: [] },
    ...otlp,
  },
});

describe('the overall telemetry status', () => {
  it('is healthy when every latest write succeeded and nothing recent went wrong', () => {
    const status = overallHealth(health([backend(), backend({ backend: 'clickhouse' })]));
    expect(status.level).toBe('healthy');
    expect(status.reasons[0]).toContain('postgres, clickhouse');
    // an old failure followed by successes no longer counts
    expect(overallHealth(health([backend({ writesFailed: 1, lastFailureAt: NOW - 3_600_000 })])).level).toBe('healthy');
  });

  it('is failing, naming the backend, when its latest write failed, or the latest OTLP spans could not be written', () => {
    const failing = overallHealth(
      health([
        backend(),
        backend({ backend: 'socket', writesFailed: 3, lastOkAt: NOW - 60_000, lastFailureAt: NOW - 2000 }),
      ]),
    );
    expect(failing.level).toBe('failing');
    expect(failing.reasons).toEqual([
      'socket: the latest write failed 2.00 s ago (3 failed, 0 timed out since the api started)',
    ]);
    const otlp = overallHealth(
      health([backend()], { spans: { written: 5, rejected: 0, failed: 2 }, lastFailureAt: NOW - 100 }),
    );
    expect(otlp.level).toBe('failing');
    expect(otlp.reasons[0]).toMatch(/^OTLP: the latest spans could not be written/);
  });

  it('is degraded by recent failures, drops, refused spans, possible losses, a backed-up queue or slow writes', () => {
    const cases: [Partial<BackendHealthRow>, RegExp][] = [
      [
        { writesTimedOut: 1, lastFailureAt: NOW - 30_000 },
        /postgres: 1 write failed or timed out, the latest 30.00 s ago/,
      ],
      [{ dropped: 4, lastDroppedAt: NOW - 10_000 }, /postgres: dropped 4 records/],
      [{ possiblyLost: 2 }, /2 records possibly lost/],
      [{ queueDepth: 5000 }, /5,000 records queued \(all organizations\)/],
      [{ latency: { count: 3, p50Ms: 900, p99Ms: 2500 } }, /slow writes \(p99 2.50 s\)/],
    ];
    for (const [extra, reason] of cases) {
      const status = overallHealth(health([backend(extra)]));
      expect(status.level).toBe('degraded');
      expect(status.reasons.join('\n')).toMatch(reason);
    }
    const refused = overallHealth(
      health([backend()], {
        spans: { written: 5, rejected: 2, failed: 0 },
        lastRejectedAt: NOW - 1000,
        rejectedByReason: [{ reason: 'endTimeUnixNano is before startTimeUnixNano', spans: 2 }],
      }),
    );
    expect(refused).toEqual({
      level: 'degraded',
      reasons: [
        'OTLP: 2 spans refused for their data, the latest 1.00 s ago (mostly: endTimeUnixNano is before startTimeUnixNano)',
      ],
    });
    // a drop an hour ago is history, not a current problem
    expect(overallHealth(health([backend({ dropped: 4, lastDroppedAt: NOW - 3_600_000 })])).level).toBe('healthy');
  });
});

describe('byte counts', () => {
  it('reads as B, KB, MB, GB with at most three significant digits', () => {
    expect(
      [0, 512, 1024, 1536, 10_240 + 512, 1_048_576 * 12, 1024 ** 3 * 3.25, -1, Number.NaN].map(formatBytes),
    ).toEqual(['0 B', '512 B', '1 KB', '1.5 KB', '10.5 KB', '12 MB', '3.25 GB', '—', '—']);
    expect(formatBytes(null)).toBe('—');
  });
});
