import { randomBytes } from 'node:crypto';

/** One span to export: times in milliseconds from `t0`, attributes as strings. */
export interface SpanSpec {
  spanId?: string;
  parentSpanId: string;
  name: string;
  start: number;
  end: number;
  attrs?: Record<string, string | number>;
  error?: string;
}

export const spanId = () => randomBytes(8).toString('hex');

/**
 * Exports spans of one trace as an OpenTelemetry SDK would (OTLP/HTTP JSON to /v1/traces), `t0` being their zero in
 * nanoseconds since the epoch; numbers become OTLP int values, as SDKs send token counts. Returns the span ids.
 */
export async function exportSpans(
  baseUrl: string,
  apiKey: string,
  traceId: string,
  t0: bigint,
  spans: readonly SpanSpec[],
): Promise<string[]> {
  const at = (ms: number) => String(t0 + BigInt(Math.round(ms * 1_000_000)));
  const ids = spans.map((s) => s.spanId ?? spanId());
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'letta-server' } }] },
        scopeSpans: [
          {
            scope: { name: 'letta' },
            spans: spans.map((s, i) => ({
              traceId,
              spanId: ids[i],
              parentSpanId: s.parentSpanId,
              name: s.name,
              kind: 3,
              startTimeUnixNano: at(s.start),
              endTimeUnixNano: at(s.end),
              attributes: Object.entries(s.attrs ?? {}).map(([key, value]) => ({
                key,
                value: typeof value === 'number' ? { intValue: String(value) } : { stringValue: value },
              })),
              status: s.error ? { code: 2, message: s.error } : { code: 1 },
            })),
          },
        ],
      },
    ],
  };
  const res = await fetch(`${baseUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`OTLP export answered ${res.status}: ${await res.text()}`);
  return ids;
}
