import { describe, expect, it } from 'vitest';
import { liveSpansOfRows } from './live-spans.ts';
import { otlpToRows } from './otlp-to-rows.ts';

const trace = 'ab'.repeat(16);
const span = (n: number, name: string, parent: string, attributes: Record<string, string> = {}) => ({
  traceId: trace,
  spanId: n.toString(16).padStart(16, '0'),
  parentSpanId: parent,
  name,
  startTimeUnixNano: `17900000000000000${String(n).padStart(2, '0')}`,
  endTimeUnixNano: '1790000000000000999',
  attributes: Object.entries(attributes).map(([key, v]) => ({ key, value: { stringValue: v } })),
});

describe('liveSpansOfRows', () => {
  it('keeps the rows the view filter with LLM calls keeps (names with quotes and backslashes too), nanoseconds exact', () => {
    const p = '1'.repeat(16);
    const spans = [
      span(1, 'root', ''),
      span(2, 'agent_step', p),
      span(3, 'say "hi"\\._execute_tool', p),
      span(4, 'Agent.execute_tool', p),
      span(5, 'db.query', p, { 'db.statement': '"SpanName":"agent_step" "ParentSpanId":""' }),
      span(6, 'chat', p, { 'gen_ai.response.model': 'gpt-4o' }),
      span(7, 'llm_request', p),
      span(8, 'time_to_first_token', p),
      span(9, 'x._execute_tool.more', p),
      span(10, 'execute_tool weather', p, { 'gen_ai.operation.name': 'execute_tool' }),
      span(11, 'search', p, { 'openinference.span.kind': 'TOOL' }),
      span(12, 'ai.toolCall', p, { 'ai.operationId': 'ai.toolCall' }),
      span(13, 'step 1', p, { 'gen_ai.operation': 'not a GenAI key' }),
    ];
    const body = Buffer.from(JSON.stringify({ resourceSpans: [{ resource: {}, scopeSpans: [{ spans }] }] }));
    const rows = otlpToRows(body, 'json', 'org-x');
    const kept = liveSpansOfRows(rows.lines).get(trace) ?? [];
    expect(kept.map((s) => s.spanName)).toEqual([
      'root',
      'agent_step',
      'say "hi"\\._execute_tool',
      'chat',
      'llm_request',
      'time_to_first_token',
      'execute_tool weather',
      'search',
      'ai.toolCall',
    ]);
    expect(kept[0]?.timestamp).toBe('1790000000000000001');
    expect(kept[0]?.duration).toBe('998');
    expect(liveSpansOfRows('').size).toBe(0);
  });
});
