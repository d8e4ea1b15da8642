/** OTLP/JSON export requests built in tests: the body an OpenTelemetry SDK's OTLP/HTTP JSON exporter sends. */

export type TestAttributeValue = string | number | boolean | string[];

export interface TestSpan {
  /** 32 hex digits. */
  traceId: string;
  /** 16 hex digits. */
  spanId: string;
  /** Absent or '' for a root span. */
  parentSpanId?: string;
  name: string;
  startNs: bigint;
  /** @default 1_000_000n (1 ms) */
  durationNs?: bigint;
  attributes?: Record<string, TestAttributeValue>;
  /** @default 'unset' */
  status?: 'unset' | 'ok' | 'error';
  statusMessage?: string;
  events?: { name: string; attributes?: Record<string, TestAttributeValue> }[];
}

export interface TestResource {
  attributes?: Record<string, TestAttributeValue>;
  spans: TestSpan[];
}

function anyValue(v: TestAttributeValue): Record<string, unknown> {
  if (Array.isArray(v)) return { arrayValue: { values: v.map((s) => ({ stringValue: s })) } };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  return { stringValue: v };
}

const keyValues = (attributes: Record<string, TestAttributeValue> = {}) =>
  Object.entries(attributes).map(([key, value]) => ({ key, value: anyValue(value) }));

const STATUS_CODES = { unset: 0, ok: 1, error: 2 } as const;

/** An `ExportTraceServiceRequest` in OTLP/JSON, as bytes. */
export function otlpJsonRequest(resources: TestResource[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      resourceSpans: resources.map((r) => ({
        resource: { attributes: keyValues(r.attributes) },
        scopeSpans: [
          {
            scope: { name: 'test' },
            spans: r.spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              name: s.name,
              kind: 1,
              startTimeUnixNano: String(s.startNs),
              endTimeUnixNano: String(s.startNs + (s.durationNs ?? 1_000_000n)),
              attributes: keyValues(s.attributes),
              events: (s.events ?? []).map((e) => ({
                name: e.name,
                timeUnixNano: String(s.startNs),
                attributes: keyValues(e.attributes),
              })),
              status: { code: STATUS_CODES[s.status ?? 'unset'], message: s.statusMessage ?? '' },
            })),
          },
        ],
      })),
    }),
  );
}
