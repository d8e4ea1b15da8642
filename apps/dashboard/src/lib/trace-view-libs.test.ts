import { describe, expect, it } from 'vitest';
import { llmUsageOf, usageSummary } from './llm-usage.ts';
import { spanKindOf } from './span-kind.ts';
import { testSpan } from './test-spans.ts';
import { niceTicks } from './time-axis.ts';
import type { TraceSpan } from './types.ts';
import { layoutWaterfall } from './waterfall.ts';
import { estimateLabelPx, placeBarLabel, placeMarkerLabels } from './waterfall-labels.ts';
import { searchRows, visibleRows } from './waterfall-tree.ts';

/** A span with its start and duration in milliseconds. */
const span = (id: string, parent: string, startMs: number, ms: number, extra: Partial<TraceSpan> = {}) =>
  testSpan(id, parent, startMs * 1000, ms * 1000, extra);

describe('time axis ticks', () => {
  it('picks a 1/2/5×10ⁿ step giving 5–8 ticks, for spans from microseconds to hours', () => {
    expect(niceTicks(0, 1200)).toEqual([0, 200, 400, 600, 800, 1000, 1200]);
    expect(niceTicks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0, 0.037)).toEqual([0, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035]);
    for (const [start, end] of [
      [0, 1],
      [0, 7],
      [0, 333],
      [0, 1234.5],
      [12.5, 47.25],
      [0, 3_600_000],
      [0, 0.0123],
    ] as const) {
      const ticks = niceTicks(start, end);
      const step = (ticks[1] ?? 0) - (ticks[0] ?? 0);
      expect(ticks.length, `${start}–${end}: ${ticks}`).toBeGreaterThanOrEqual(5);
      expect(ticks.length).toBeLessThanOrEqual(8);
      expect(ticks[0]).toBeGreaterThanOrEqual(start);
      expect(ticks.at(-1)).toBeLessThanOrEqual(end + 1e-9);
      const mantissa = Number((step / 10 ** Math.floor(Math.log10(step))).toPrecision(6));
      expect([1, 2, 5]).toContain(mantissa);
    }
    expect(niceTicks(5, 5)).toEqual([5]);
  });
});

describe('span kinds', () => {
  it('classifies HTTP roots, agent steps, LLM calls, tools, databases and the rest', () => {
    const kind = (name: string, attrs: Record<string, string> = {}, parent = 'p') =>
      spanKindOf({ spanName: name, spanAttributes: attrs, parentSpanId: parent });
    expect(kind('POST /v1/agents/{agent_id}/messages', {}, '')).toBe('request');
    expect(kind('handler', { 'http.request.method': 'GET' })).toBe('request');
    expect(kind('anything', {}, '')).toBe('request');
    expect(kind('agent_step', { model: 'gpt-4.1' })).toBe('agent');
    expect(kind('invoke_agent', { 'gen_ai.operation.name': 'invoke_agent' })).toBe('agent');
    expect(kind('llm_request')).toBe('llm');
    expect(kind('time_to_first_token')).toBe('llm');
    expect(kind('chat gpt-4o', { 'gen_ai.request.model': 'gpt-4o' })).toBe('llm');
    expect(kind('ChatCompletion', { 'llm.model_name': 'gpt-4o' })).toBe('llm');
    expect(kind('LettaAgentV3._execute_tool', { 'tool.name': 'web_search' })).toBe('tool');
    expect(kind('execute_tool search', { 'gen_ai.tool.name': 'search', 'gen_ai.operation.name': 'execute_tool' })).toBe(
      'tool',
    );
    expect(kind('retrieve', { 'openinference.span.kind': 'retriever' })).toBe('database');
    expect(kind('x', { 'openinference.span.kind': 'LLM' })).toBe('llm');
    expect(kind('db.query')).toBe('database');
    expect(kind('SELECT runs', { 'db.system': 'postgresql' })).toBe('database');
    expect(kind('serialize')).toBe('other');
  });
});

describe('LLM usage from span attributes', () => {
  it('reads the model, tokens and cost from gen_ai, older gen_ai and OpenInference attributes', () => {
    expect(
      llmUsageOf({
        'gen_ai.request.model': 'gpt-4.1',
        'gen_ai.response.model': 'gpt-4.1-2025-04-14',
        'gen_ai.usage.input_tokens': '812',
        'gen_ai.usage.output_tokens': '64',
        'gen_ai.usage.cost': '0.0031',
      }),
    ).toEqual({ model: 'gpt-4.1-2025-04-14', inputTokens: 812, outputTokens: 64, totalTokens: 876, cost: 0.0031 });
    expect(llmUsageOf({ 'gen_ai.usage.prompt_tokens': '10', 'gen_ai.usage.completion_tokens': '5' })).toMatchObject({
      model: null,
      inputTokens: 10,
      outputTokens: 5,
      totalTokens: 15,
    });
    expect(llmUsageOf({ 'llm.model_name': 'claude', 'llm.token_count.total': '99' })).toMatchObject({
      model: 'claude',
      totalTokens: 99,
      inputTokens: null,
    });
    expect(llmUsageOf({ 'tool.name': 'x' })).toBeNull();
    expect(
      usageSummary({ model: 'gpt-4.1', inputTokens: 1812, outputTokens: 64, totalTokens: 1876, cost: 0.0031 }),
    ).toBe('gpt-4.1 · 1,812 in / 64 out · $0.0031');
  });
});

describe('waterfall collapse and search', () => {
  const rows = layoutWaterfall([
    span('root', '', 0, 100),
    span('step1', 'root', 1, 40, { spanName: 'agent_step' }),
    span('tool', 'step1', 5, 10, { spanName: 'run_tool', spanAttributes: { 'tool.name': 'web_search' } }),
    span('ttft', 'step1', 2, 3, { spanName: 'time_to_first_token' }),
    span('step2', 'root', 50, 40, { spanName: 'agent_step' }),
  ]).rows;
  const ids = (list: { span: TraceSpan }[]) => list.map((r) => r.span.spanId);

  it('records parents and child counts, and folding a parent hides its whole subtree', () => {
    expect(rows.map((r) => [r.span.spanId, r.childCount])).toEqual([
      ['root', 2],
      ['step1', 2],
      ['ttft', 0],
      ['tool', 0],
      ['step2', 0],
    ]);
    expect(ids(visibleRows(rows, new Set(['t1:step1'])))).toEqual(['root', 'step1', 'step2']);
    expect(ids(visibleRows(rows, new Set(['t1:root', 't1:step1'])))).toEqual(['root']);
    expect(ids(visibleRows(rows, new Set()))).toEqual(ids(rows));
  });

  it('finds spans by name or attribute and keeps their ancestors for context', () => {
    const byValue = searchRows(rows, 'WEB_SEARCH');
    expect(ids(byValue.rows)).toEqual(['root', 'step1', 'tool']);
    expect([...byValue.matches]).toEqual(['t1:tool']);
    expect(ids(searchRows(rows, 'agent_step').rows)).toEqual(['root', 'step1', 'step2']);
    expect(ids(searchRows(rows, 'tool.name=web').rows)).toEqual(['root', 'step1', 'tool']);
    expect(searchRows(rows, 'tool.name=other').rows).toEqual([]);
    expect(searchRows(rows, '  ').matches.size).toBe(5);
  });
});

describe('label placement', () => {
  it('keeps a bar label inside the track: after the bar, before it near the right edge, else over the end', () => {
    expect(placeBarLabel(0.1, 0.5, 1000, 60)).toBe('after');
    expect(placeBarLabel(0.6, 0.98, 1000, 60)).toBe('before');
    expect(placeBarLabel(0.02, 0.97, 1000, 60)).toBe('inside');
    expect(placeBarLabel(0, 1, 300, 60)).toBe('inside');
    expect(estimateLabelPx('310 ms')).toBeGreaterThan(30);
  });

  it('puts first-token labels on lines where they do not overlap, flipped left near the right edge', () => {
    const placed = placeMarkerLabels([0.5, 0.1, 0.12, 0.95, 0.5], 1000, 120);
    expect(placed.map((p) => p.lane)).toEqual([0, 0, 1, 0, 1]);
    expect(placed.map((p) => p.flip)).toEqual([false, false, false, true, false]);
    for (const [i, a] of placed.entries()) {
      for (const b of placed.slice(i + 1)) {
        if (a.lane !== b.lane) continue;
        const span = (p: typeof a) =>
          p.flip ? [p.fraction * 1000 - 120, p.fraction * 1000] : [p.fraction * 1000, p.fraction * 1000 + 120];
        const [a0, a1] = span(a);
        const [b0, b1] = span(b);
        expect((a1 ?? 0) <= (b0 ?? 0) || (b1 ?? 0) <= (a0 ?? 0)).toBe(true);
      }
      expect(a.flip ? a.fraction * 1000 - 120 : a.fraction * 1000 + 120).toBeLessThanOrEqual(1000);
    }
  });
});
