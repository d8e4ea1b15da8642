/** The OTLP export requests of the traces bench: agent-like exports for ingest, and one agent run's trace to read. */
import { otlpProtoTypes } from '@runtrace/core/internal';

export const SPANS_PER_EXPORT = 512;
export const TARGET_SPANS = 1_000;

const hex = (n: number, digits: number) => n.toString(16).padStart(digits, '0');
const str = (stringValue: string) => ({ stringValue });

/** One export request (OTLP/JSON shapes, hex ids) of `count` agent-like spans, ~1 KB of attributes each. */
export function exportRequest(seq: number, count: number, startNs: bigint, ids: 'hex' | 'bytes' = 'hex') {
  const id = (n: number, digits: number) => (ids === 'hex' ? hex(n, digits) : Buffer.from(hex(n, digits), 'hex'));
  const names = [
    'agent_step',
    'time_to_first_token',
    'llm_request',
    'LettaAgentV3._execute_tool',
    'ToolExecutor.run',
    'db.query',
  ];
  return {
    resourceSpans: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: str('letta-server') },
            { key: 'service.version', value: str('0.16.0') },
            { key: 'host.name', value: str(`pod-${seq % 16}`) },
          ],
        },
        scopeSpans: [
          {
            scope: { name: 'letta.agents', version: '0.16.0' },
            spans: Array.from({ length: count }, (_, i) => {
              const start = startNs + BigInt(i) * 1_000_000n;
              return {
                traceId: id(seq * 64 + Math.floor(i / 64) + 1, 32),
                spanId: id(seq * 100_000 + i + 1, 16),
                parentSpanId: i % 64 ? id(seq * 100_000 + i, 16) : ids === 'hex' ? '' : Buffer.alloc(0),
                name: i % 64 ? (names[i % names.length] as string) : 'POST /v1/agents/{agent_id}/messages',
                kind: i % 64 ? 1 : 2,
                startTimeUnixNano: String(start),
                endTimeUnixNano: String(start + 750_000n),
                attributes: [
                  { key: 'agent.id', value: str(`agent-${hex(seq, 8)}-4000-8000-${hex(i, 12)}`) },
                  { key: 'step.id', value: str(`step-${hex(seq * 1000 + i, 8)}-4000-8000-000000000000`) },
                  { key: 'gen_ai.system', value: str('openai') },
                  { key: 'gen_ai.request.model', value: str('gpt-4o-mini-2024-07-18') },
                  { key: 'gen_ai.usage.input_tokens', value: { intValue: String(1000 + i) } },
                  { key: 'gen_ai.usage.output_tokens', value: { intValue: String(50 + (i % 200)) } },
                  { key: 'llm.temperature', value: { doubleValue: 0.7 } },
                  { key: 'tool.name', value: str(i % 2 ? 'web_search' : 'archival_memory_search') },
                  {
                    key: 'tool.arguments',
                    value: str(
                      JSON.stringify({
                        query: `what did the user say about item ${i} in export ${seq}?`,
                        limit: 10,
                        filters: { since: '2026-01-01', tags: ['memory', 'recall', 'user'] },
                      }),
                    ),
                  },
                  {
                    key: 'http.url',
                    value: str(
                      `https://api.openai.com/v1/chat/completions?request=${hex(seq * 100_000 + i, 16)}&region=us-east-1&retry=0`,
                    ),
                  },
                  {
                    key: 'message.preview',
                    value: str(`Here is what I found about the topic you asked for (#${i}): `.repeat(5)),
                  },
                ],
                status: i % 97 === 0 ? { code: 2, message: 'tool timed out' } : {},
              };
            }),
          },
        ],
      },
    ],
  };
}

export function protobufBody(request: ReturnType<typeof exportRequest>): Buffer {
  const { ExportTraceServiceRequest: T } = otlpProtoTypes();
  return Buffer.from(T.encode(T.fromObject(request)).finish());
}

/** A 1,000-span agent run: the request, then steps of 9 spans (4 of them drawn by a trace view). */
export function targetTrace(traceId: string, startNs: bigint) {
  const spans: Record<string, unknown>[] = [];
  const span = (n: number, name: string, parent: number | null, offsetMs: number, durationMs: number) => {
    const start = startNs + BigInt(offsetMs) * 1_000_000n;
    spans.push({
      traceId,
      spanId: hex(n, 16),
      parentSpanId: parent === null ? '' : hex(parent, 16),
      name,
      kind: parent === null ? 2 : 1,
      startTimeUnixNano: String(start),
      endTimeUnixNano: String(start + BigInt(durationMs) * 1_000_000n),
      attributes: [
        { key: 'step.index', value: { intValue: String(n) } },
        { key: 'payload', value: str('x'.repeat(600)) },
      ],
    });
  };
  span(1, 'POST /v1/agents/{agent_id}/messages', null, 0, 60_000);
  for (let step = 0, n = 2; spans.length < TARGET_SPANS; step++) {
    const at = 100 + step * 500;
    const stepId = n;
    const children: [string, number, number][] = [
      ['time_to_first_token', 10, 40],
      ['llm_request', 5, 200],
      ['llm_response.parse', 205, 5],
      ['LettaAgentV3._execute_tool', 220, 200],
      ['ToolExecutor.run', 221, 190],
      ['db.query', 230, 20],
      ['db.query', 260, 20],
      ['http.request', 300, 100],
    ];
    span(n++, 'agent_step', 1, at, 480);
    for (const [name, offset, duration] of children) {
      if (spans.length >= TARGET_SPANS) break;
      span(n++, name, stepId, at + offset, duration);
    }
  }
  return {
    resourceSpans: [
      { resource: { attributes: [{ key: 'service.name', value: str('letta-server') }] }, scopeSpans: [{ spans }] },
    ],
  };
}
