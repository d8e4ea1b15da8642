import { describe, expect, it } from 'vitest';
import { T0, testSpan } from './test-spans.ts';
import { layoutWaterfall } from './waterfall.ts';

const span = testSpan;

describe('the trace waterfall layout', () => {
  it('nests spans under their parents, siblings by start, on one axis from the first start', () => {
    const w = layoutWaterfall([
      span('root', '', 0, 10_000),
      span('step2', 'root', 6_000, 3_000),
      span('step1', 'root', 1_000, 4_000),
      span('tool', 'step1', 2_000, 1_500),
    ]);
    expect(w.rows.map((r) => [r.span.spanId, r.depth])).toEqual([
      ['root', 0],
      ['step1', 1],
      ['tool', 2],
      ['step2', 1],
    ]);
    expect(w.rows.map((r) => [r.startMs, r.durationMs])).toEqual([
      [0, 10],
      [1, 4],
      [2, 1.5],
      [6, 3],
    ]);
    expect(w.totalMs).toBe(10);
  });

  it('keeps sub-millisecond offsets of nanosecond timestamps beyond 2^53', () => {
    const w = layoutWaterfall([span('a', '', 0, 1), span('b', '', 0.001 * 1000, 1)]);
    expect(w.rows[1]?.startMs).toBeCloseTo(0.001, 9);
  });

  it('draws spans whose parent was filtered out (or that form a cycle) at the top level, and marks the first token', () => {
    const w = layoutWaterfall([
      span('orphan', 'missing', 500, 100),
      span('x', 'y', 0, 10),
      span('y', 'x', 1, 10),
      span('ttft', 'orphan', 500, 250, { spanName: 'time_to_first_token' }),
      span('step', '', 0, 2_000, {
        events: [{ timestamp: String(T0 + 900_000n), name: 'time_to_first_token_ms', attributes: {} }],
      }),
    ]);
    expect(w.rows).toHaveLength(5);
    expect(w.rows.find((r) => r.span.spanId === 'orphan')?.depth).toBe(0);
    expect(w.rows.find((r) => r.span.spanId === 'ttft')?.depth).toBe(1);
    expect(w.firstTokenMs.sort((p, q) => p - q)).toEqual([0.75, 0.9]);
    expect(layoutWaterfall([])).toEqual({ rows: [], totalMs: 0, firstTokenMs: [] });
  });
});
