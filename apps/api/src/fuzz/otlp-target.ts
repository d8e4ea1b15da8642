import { otlpProtoTypes } from '@runtrace/core/internal';
import fc from 'fast-check';
import { anyString, junk, safeString } from './arbitraries.ts';
import { type Generated, mostlyValid, objectOf } from './generated.ts';
import { ok, ReadBackError, readRun } from './reads.ts';
import type { Target } from './target.ts';
import { bool, hex } from './target-arbitraries.ts';

const nanoText = fc.oneof(
  { weight: 5, arbitrary: fc.bigInt({ min: 1_600_000_000_000_000_000n, max: 1_900_000_000_000_000_000n }).map(String) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('0', '-1', '1.5', '18446744073709551615', '18446744073709551616', 'abc', '1e30'),
  },
);
const attribute = objectOf({
  required: { key: fc.oneof(safeString, anyString) },
  optional: {
    value: fc.oneof(
      anyString.map((stringValue) => ({ stringValue })),
      fc.integer().map((intValue) => ({ intValue })),
      bool.map((boolValue) => ({ boolValue })),
      fc.double().map((doubleValue) => ({ doubleValue })),
      junk,
    ),
  },
});

/** Whether a span starting at `start` (decimal nanoseconds) is within the default span retention (30 days). */
function withinRetention(start: unknown): boolean {
  if (typeof start !== 'string' || !/^\d{1,20}$/.test(start)) return false;
  // fixed64 on the wire: protobufjs encodes a value past 2^64 − 1 wrapped, and the api reads what was encoded
  return BigInt(start) % (1n << 64n) >= BigInt(Date.now() - 29 * 86_400_000) * 1_000_000n;
}

interface OtlpInput {
  format: 'json' | 'protobuf';
  request: unknown;
}
/**
 * `POST /v1/traces` in OTLP/HTTP JSON or protobuf; spans of the fixture step's trace id must show in the run's trace
 * view after an accepted export.
 */
export function otlpTarget(): Target {
  const span = (traceId: fc.Arbitrary<unknown>) =>
    mostlyValid({
      required: {
        traceId,
        spanId: hex(8),
        name: fc.oneof(safeString, anyString, fc.constant('agent_step')),
        startTimeUnixNano: nanoText,
        endTimeUnixNano: nanoText,
      },
      optional: {
        parentSpanId: hex(8),
        kind: fc.integer({ min: -1, max: 6 }),
        attributes: fc.array(attribute, { maxLength: 3 }),
        status: objectOf({ optional: { code: fc.integer({ min: 0, max: 3 }), message: anyString } }),
      },
    });
  // `fixture` stands for the fixture step's trace id, filled in when the case runs.
  const traceId = fc.oneof(
    { weight: 3, arbitrary: fc.constant('fixture') },
    { weight: 2, arbitrary: hex(16) },
    { weight: 1, arbitrary: anyString },
  );
  const request = objectOf({
    required: {
      resourceSpans: fc.array(
        mostlyValid({
          required: {
            scopeSpans: fc.array(
              mostlyValid({
                required: { spans: fc.array(span(traceId), { minLength: 1, maxLength: 3 }) },
                optional: { scope: objectOf({ optional: { name: anyString } }) },
              }),
              { minLength: 1, maxLength: 2 },
            ),
          },
          optional: { resource: objectOf({ optional: { attributes: fc.array(attribute, { maxLength: 2 }) } }) },
        }),
        { minLength: 1, maxLength: 2 },
      ),
    },
  });
  const gen = fc
    .tuple(
      fc.constantFrom('json', 'protobuf'),
      fc.oneof({ weight: 6, arbitrary: request }, { weight: 1, arbitrary: junk }),
    )
    .map(([format, req]): Generated => ({ input: { format, request: req } satisfies OtlpInput, how: 'valid' }));
  const withTraceId = (value: unknown, id: string): unknown =>
    JSON.parse(JSON.stringify(value ?? null).replaceAll('"traceId":"fixture"', `"traceId":"${id}"`));
  return {
    gen,
    lookups: [],
    rest: true,
    async send(s, input) {
      const { format, request: raw } = input as OtlpInput;
      const req = withTraceId(raw, s.fixtureTraceId);
      if (format === 'json') {
        return s.client.rest('POST', '/v1/traces', {
          rawBody: JSON.stringify(req),
          headers: { 'content-type': 'application/json' },
        });
      }
      let bytes: Uint8Array;
      let garbled = false;
      try {
        // protobuf carries ids as bytes: hex strings become bytes, anything else is sent as it would be decoded.
        const types = otlpProtoTypes();
        const hexToBytes = JSON.parse(JSON.stringify(req), (key, v) =>
          (key === 'traceId' || key === 'spanId' || key === 'parentSpanId') && typeof v === 'string'
            ? Buffer.from(v, 'hex').toString('base64')
            : v,
        );
        bytes = types.ExportTraceServiceRequest.encode(types.ExportTraceServiceRequest.fromObject(hexToBytes)).finish();
      } catch {
        bytes = Buffer.from(JSON.stringify(req));
        garbled = true;
      }
      const answer = await s.client.rest('POST', '/v1/traces', {
        rawBody: Buffer.from(bytes),
        headers: { 'content-type': 'application/x-protobuf' },
      });
      answer.garbled = garbled;
      // Answers come in the request's encoding: decoded here so that the checks read them as JSON.
      const type = answer.status === 200 ? otlpProtoTypes().ExportTraceServiceResponse : otlpProtoTypes().Status;
      if (answer.data instanceof Buffer && answer.json === undefined) answer.json = type.decode(answer.data).toJSON();
      return answer;
    },
    async after(s, input, answer) {
      await s.flushTraces();
      await readRun(s, s.fixtureRunId);
      const rejected = Number(
        (answer.json as { partialSuccess?: { rejectedSpans?: string } })?.partialSuccess?.rejectedSpans ?? 0,
      );
      if (rejected > 0 || answer.garbled) return;
      // Every root span of the fixture trace id was accepted whole: the run's trace view draws it.
      const { request: raw } = input as OtlpInput;
      const roots = JSON.stringify(raw ?? null).includes('"traceId":"fixture"')
        ? (raw as { resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] }).resourceSpans
            .flatMap((r) => r.scopeSpans ?? [])
            .flatMap((ss) => ss.spans ?? [])
            // Spans that began before RUNTRACE_OTEL_TTL_DAYS (30) are expired by ClickHouse's TTL as they arrive.
            .filter(
              (sp) =>
                sp.traceId === 'fixture' && sp.parentSpanId === undefined && withinRetention(sp.startTimeUnixNano),
            )
        : [];
      if (!roots.length) return;
      // The trace view lists the oldest spans first, at most 5000: only a view with room left must hold every root.
      const view = ok(
        await s.client.trpc('query', 'runs.trace', { runId: s.fixtureRunId, limit: 5000 }),
        'runs.trace',
      ) as { spanId: string }[];
      if (view.length >= 5000) return;
      for (const root of roots) {
        if (!view.some((t) => t.spanId === root.spanId)) {
          throw new ReadBackError(`runs.trace does not list accepted root span ${String(root.spanId)}`);
        }
      }
    },
  };
}
