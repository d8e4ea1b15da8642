/**
 * Spans nobody here wrote, through exporters nobody here wrote: the Vercel AI SDK (7.x, mock model, traced by
 * `@ai-sdk/otel` with both of its integrations) runs generateText with a tool, streamText and a failing call
 * (testing/ai-sdk-emitter.ts), and the official OTLP exporters — gRPC (gzip), HTTP protobuf (gzip) and HTTP JSON — send
 * them to the real api, each into its own organization with its API key. Every span must be stored as the SDK made it,
 * the exporters must see no partial success, and the three transports must store the very same rows.
 */
import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-node';
import { databaseTargets } from '@runtrace/core/testing';
import type { TraceSpan } from '@runtrace/core/traces';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AiSdkScenarioName,
  type AiSdkTelemetryFlavor,
  type RecordedAiSdkCall,
  recordAiSdkCalls,
} from './testing/ai-sdk-emitter.ts';
import {
  type Api,
  exportWith,
  officialExporters,
  runTrace,
  startApi,
  stopApi,
  storedTraceSpans,
} from './testing/otlp-test-api.ts';

const EXPORTERS = ['grpc', 'proto', 'json'] as const;
type ExporterName = (typeof EXPORTERS)[number];

/**
 * Runs `send` and returns the OpenTelemetry diagnostics warnings meanwhile: the official exporters report an OTLP
 * partial success there ("Received Partial Success response"), and nowhere else.
 */
async function diagWarnings(send: () => Promise<void>): Promise<string[]> {
  const warnings: string[] = [];
  const ignore = () => {};
  const logger: DiagLogger = {
    error: (...args) => warnings.push(args.join(' ')),
    warn: (...args) => warnings.push(args.join(' ')),
    info: ignore,
    debug: ignore,
    verbose: ignore,
  };
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  try {
    await send();
  } finally {
    diag.disable();
  }
  return warnings;
}

async function sendAll(exporter: SpanExporter, spans: ReadableSpan[]): Promise<string[]> {
  try {
    return await diagWarnings(() => exportWith(exporter, spans));
  } finally {
    await exporter.shutdown();
  }
}

/** A span attribute as the store keeps it (ClickHouse Map(String, String)). */
function storedValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** What of a stored span must equal the SDK's span, whichever transport carried it. */
function expectStoredAsMade(stored: TraceSpan, made: ReadableSpan) {
  const ns = (t: [number, number]) => (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();
  expect({
    name: stored.spanName,
    parent: stored.parentSpanId,
    start: stored.timestamp,
    duration: stored.duration,
    status: stored.statusCode,
    statusMessage: stored.statusMessage,
    scope: stored.scopeName,
    service: stored.serviceName,
    attributes: stored.spanAttributes,
    events: stored.events.map((e) => [e.name, e.attributes]),
  }).toEqual({
    name: made.name,
    parent: made.parentSpanContext?.spanId ?? '',
    start: ns(made.startTime),
    duration: ns(made.duration),
    status: ['Unset', 'Ok', 'Error'][made.status.code],
    statusMessage: made.status.message ?? '',
    scope: made.instrumentationScope.name,
    service: 'weather-app',
    attributes: Object.fromEntries(Object.entries(made.attributes).map(([k, v]) => [k, storedValue(v)])),
    events: made.events.map((e) => [
      e.name,
      Object.fromEntries(Object.entries(e.attributes ?? {}).map(([k, v]) => [k, storedValue(v)])),
    ]),
  });
}

/** A stored row less what names the organization that sent it. */
function withoutOrganization(span: TraceSpan): TraceSpan {
  const { 'runtrace.organization_id': organization, ...resourceAttributes } = span.resourceAttributes;
  expect(organization).toBeTruthy();
  return { ...span, resourceAttributes };
}

describe("the AI SDK's spans through every official OTLP exporter", () => {
  let api: Api;
  let calls: RecordedAiSdkCall[];
  const orgs = {} as Record<ExporterName, { id: string; userId: string; key: string }>;

  beforeAll(async () => {
    const [database] = databaseTargets();
    api = await startApi(database!, {});
    for (const name of EXPORTERS) {
      const org = await api.rt.auth.createOrganization(`emitters-${name}`);
      orgs[name] = { id: org.id, userId: org.userId, key: (await api.rt.auth.createApiKey(org.id, name)).key };
    }
    calls = await recordAiSdkCalls();
  });
  afterAll(() => stopApi(api));

  it('the recorded AI SDK calls are what the scenarios say: a tool round trip, a stream, an error', () => {
    const names = (scenario: AiSdkScenarioName, flavor: AiSdkTelemetryFlavor) =>
      calls
        .find((c) => c.scenario === scenario && c.flavor === flavor)!
        .spans.map((s) => s.name)
        .sort();
    expect(names('generate-text', 'semconv')).toEqual([
      'chat gpt-4o-mini',
      'chat gpt-4o-mini',
      'execute_tool weather',
      'invoke_agent gpt-4o-mini',
      'step 1',
      'step 2',
    ]);
    expect(names('stream-text', 'semconv')).toEqual(['chat gpt-4o-mini', 'invoke_agent gpt-4o-mini', 'step 1']);
    expect(names('error', 'semconv')).toEqual(['chat gpt-4o-mini', 'invoke_agent gpt-4o-mini', 'step 1']);
    expect(names('generate-text', 'legacy')).toEqual([
      'ai.generateText',
      'ai.generateText.doGenerate',
      'ai.generateText.doGenerate',
      'ai.toolCall',
    ]);
    expect(names('stream-text', 'legacy')).toEqual(['ai.streamText', 'ai.streamText.doStream']);
    expect(names('error', 'legacy')).toEqual(['ai.generateText', 'ai.generateText.doGenerate']);
    expect(new Set(calls.map((c) => c.traceId)).size).toBe(calls.length);
  });

  it('gRPC (gzip), HTTP protobuf (gzip) and HTTP JSON store every span as the SDK made it, identically, with no partial success', async () => {
    const all = calls.flatMap((c) => c.spans);
    const stored = {} as Record<ExporterName, TraceSpan[]>;
    for (const name of EXPORTERS) {
      const warnings = await sendAll(officialExporters[name](api, orgs[name].key), all);
      // the exporter heard an empty partial success (it warns on any other) and nothing else went wrong
      expect(warnings, name).toEqual([]);
      const rows: TraceSpan[] = [];
      for (const call of calls) {
        const spans = await storedTraceSpans(api, orgs[name].id, call.traceId);
        expect(spans.map((s) => s.spanId).sort(), `${name} ${call.flavor} ${call.scenario}`).toEqual(
          call.spans.map((s) => s.spanContext().spanId).sort(),
        );
        for (const span of spans) {
          expectStoredAsMade(span, call.spans.find((s) => s.spanContext().spanId === span.spanId)!);
        }
        rows.push(...spans);
      }
      stored[name] = rows.map(withoutOrganization);
      const stats = api.rt.traces.statsFor(orgs[name].id);
      expect({ requests: [stats.requests.accepted, stats.requests.partial], spans: stats.spans }, name).toEqual({
        requests: [1, 0],
        spans: { written: all.length, rejected: 0, failed: 0 },
      });
    }
    expect(stored.proto).toEqual(stored.grpc);
    expect(stored.json).toEqual(stored.grpc);
  });

  it("the exporters do report a partial success when the api refuses a span (so the empty one above is the api's answer)", async () => {
    const [made] = calls[0]!.spans;
    // the same span under the all-zero trace id, which OTLP calls invalid
    const invalid = Object.create(made!, {
      spanContext: { value: () => ({ ...made!.spanContext(), traceId: '0'.repeat(32) }) },
    }) as ReadableSpan;
    for (const name of EXPORTERS) {
      const warnings = await sendAll(officialExporters[name](api, orgs[name].key), [invalid]);
      expect(warnings, name).toEqual([expect.stringMatching(/Partial Success.*"rejectedSpans":"?1"?.*traceId/)]);
    }
  });

  it("runs.trace draws an AI SDK trace from the exporters' spans: the call (root) and, with llmSpans, its steps, model calls and tool", async () => {
    const call = calls.find((c) => c.scenario === 'generate-text' && c.flavor === 'semconv')!;
    const org = orgs.json;
    const actor = { organizationId: org.id, userId: org.userId };
    const view = await runTrace(api, actor, call.traceId, org.key);
    expect(view.map((s) => s.spanName)).toEqual(['invoke_agent gpt-4o-mini']);
    const withLlm = await runTrace(api, actor, call.traceId, org.key, { llmSpans: true });
    expect(withLlm.map((s) => s.spanName)).toEqual([
      'invoke_agent gpt-4o-mini',
      'step 1',
      'chat gpt-4o-mini',
      'execute_tool weather',
      'step 2',
      'chat gpt-4o-mini',
    ]);
    expect(withLlm.find((s) => s.spanName === 'chat gpt-4o-mini')!.spanAttributes).toMatchObject({
      'gen_ai.usage.input_tokens': '120',
      'gen_ai.usage.cache_read.input_tokens': '100',
      'gen_ai.response.finish_reasons': '["tool-calls"]',
    });
  });
});
