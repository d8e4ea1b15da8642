import { describe, expect, it } from 'vitest';
import { testSpan } from './test-spans.ts';
import { applyTraceUpdate } from './trace-updates.ts';

describe('applyTraceUpdate', () => {
  const root = testSpan('root', '', 0, 100);
  const step = testSpan('step', 'root', 10, 20);
  const tool = testSpan('tool', 'step', 15, 5);

  it('takes a snapshot as it is, replacing what was held', () => {
    expect(applyTraceUpdate([root, step], { kind: 'snapshot', spans: [tool] })).toEqual([tool]);
    expect(applyTraceUpdate(undefined, { kind: 'snapshot', spans: [] })).toEqual([]);
  });

  it('merges new spans by id, oldest first, a span sent again replacing the one held', () => {
    const held = applyTraceUpdate(undefined, { kind: 'spans', spans: [step] });
    const longer = { ...step, duration: '99000' };
    const merged = applyTraceUpdate(held, { kind: 'spans', spans: [tool, root, longer] });
    expect(merged.map((s) => s.spanId)).toEqual(['root', 'step', 'tool']);
    expect(merged[1]?.duration).toBe('99000');
    // the same span id in another trace is another span
    const other = { ...tool, traceId: 't2' };
    expect(applyTraceUpdate(merged, { kind: 'spans', spans: [other] })).toHaveLength(4);
  });
});
