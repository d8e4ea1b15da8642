import { readFileSync } from 'node:fs';

/** The captured AI SDK exports in traces/genai/fixtures/ (see the emitters harness that made them). */
export const AI_SDK_FIXTURES = [
  'ai-sdk-generate-text',
  'ai-sdk-stream-text',
  'ai-sdk-error',
  'ai-sdk-legacy-generate-text',
  'ai-sdk-legacy-stream-text',
  'ai-sdk-legacy-error',
] as const;
export type AiSdkFixture = (typeof AI_SDK_FIXTURES)[number];

interface FixtureSpan {
  traceId: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  events?: { timeUnixNano: string }[];
}
interface FixtureRequest {
  resourceSpans: { scopeSpans: { spans: FixtureSpan[] }[] }[];
}

/**
 * A captured AI SDK export request (OTLP/JSON, as the official exporter POSTed it) with its times moved to now (the
 * span store keeps recent spans), and its trace id.
 */
export function aiSdkFixture(name: AiSdkFixture): { body: Buffer; traceId: string } {
  const file = new URL(`../traces/genai/fixtures/${name}.json`, import.meta.url);
  const request = JSON.parse(readFileSync(file, 'utf8')) as FixtureRequest;
  const spans = request.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
  const [head] = spans;
  if (!head) throw new Error(`${name} has no spans`);
  const first = spans.reduce((min, s) => {
    const start = BigInt(s.startTimeUnixNano);
    return start < min ? start : min;
  }, BigInt(head.startTimeUnixNano));
  const shift = BigInt(Date.now()) * 1_000_000n - first;
  const moved = (t: string) => String(BigInt(t) + shift);
  for (const s of spans) {
    s.startTimeUnixNano = moved(s.startTimeUnixNano);
    s.endTimeUnixNano = moved(s.endTimeUnixNano);
    for (const e of s.events ?? []) e.timeUnixNano = moved(e.timeUnixNano);
  }
  return { body: Buffer.from(JSON.stringify(request)), traceId: head.traceId };
}
