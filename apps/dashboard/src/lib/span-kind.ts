import type { TraceSpan } from './types.ts';

/** What a span does, as the waterfall colours and labels it. */
export type SpanKind = 'request' | 'agent' | 'llm' | 'tool' | 'database' | 'other';

export interface SpanKindInfo {
  /** Shown in the legend and on every row, so that colour is never the only cue. */
  label: string;
  /** A short tag drawn on the row. */
  tag: string;
  /** At least 4.5:1 on white and on the page background (WCAG AA for text and for the bars). */
  color: string;
}

/** The kinds in legend order. */
export const SPAN_KINDS: Readonly<Record<SpanKind, SpanKindInfo>> = {
  request: { label: 'HTTP / root request', tag: 'HTTP', color: '#3456d1' },
  agent: { label: 'Agent step', tag: 'STEP', color: '#7b3fb8' },
  llm: { label: 'LLM call', tag: 'LLM', color: '#0b7a6b' },
  tool: { label: 'Tool', tag: 'TOOL', color: '#a45200' },
  database: { label: 'Database', tag: 'DB', color: '#6b5b00' },
  other: { label: 'Other', tag: 'SPAN', color: '#566074' },
};

/** OpenInference's `openinference.span.kind` values → ours. */
const OPENINFERENCE: Record<string, SpanKind> = {
  LLM: 'llm',
  TOOL: 'tool',
  AGENT: 'agent',
  CHAIN: 'agent',
  RETRIEVER: 'database',
};

const HTTP_NAME = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /;

/**
 * Classifies a span by its name and attributes, most specific evidence first: OpenInference's span kind; tools
 * (`*_execute_tool`, `gen_ai.tool.*`, `tool.name`, gen_ai's `execute_tool` operation) before LLM calls, since tool
 * spans also carry `gen_ai.*`; LLM calls (`llm_request`, `time_to_first_token`, `gen_ai.*`, OpenInference `llm.*`);
 * databases (`db.*`); agent steps; HTTP and root spans; the rest is `other`.
 */
export function spanKindOf(span: Pick<TraceSpan, 'spanName' | 'spanAttributes' | 'parentSpanId'>): SpanKind {
  const name = span.spanName;
  const attrs = span.spanAttributes;
  const keys = Object.keys(attrs);
  const openInference = OPENINFERENCE[(attrs['openinference.span.kind'] ?? '').toUpperCase()];
  if (openInference) return openInference;
  const operation = attrs['gen_ai.operation.name'] ?? '';
  if (
    /_?execute_tool\b/i.test(name) ||
    operation === 'execute_tool' ||
    'tool.name' in attrs ||
    keys.some((k) => k.startsWith('gen_ai.tool.'))
  ) {
    return 'tool';
  }
  if (operation === 'invoke_agent' || operation === 'create_agent' || /agent_step|invoke_agent/i.test(name)) {
    return 'agent';
  }
  if (
    /^(llm_request|time_to_first_token)$/.test(name) ||
    /^gen_ai\./.test(name) ||
    keys.some((k) => k.startsWith('gen_ai.') || k.startsWith('llm.'))
  ) {
    return 'llm';
  }
  if (name.startsWith('db.') || keys.some((k) => k.startsWith('db.'))) return 'database';
  if (HTTP_NAME.test(name) || 'http.method' in attrs || 'http.request.method' in attrs || !span.parentSpanId) {
    return 'request';
  }
  return 'other';
}
