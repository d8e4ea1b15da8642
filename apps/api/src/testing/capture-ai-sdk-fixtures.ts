/**
 * Writes the AI SDK span fixtures of packages/core/src/traces/genai/fixtures/: each scenario of ai-sdk-emitter.ts runs
 * once per `@ai-sdk/otel` integration, its spans go out through the official OTLP/HTTP JSON exporter
 * (`@opentelemetry/exporter-trace-otlp-http`, one batch) to a local node:http server that keeps the request body, and
 * that body — an ExportTraceServiceRequest exactly as the exporter sent it, pretty-printed — is the fixture.
 *
 *   pnpm --filter @runtrace/api exec tsx src/testing/capture-ai-sdk-fixtures.ts
 *
 * Files: ai-sdk-<scenario>.json (the AI SDK 7 default integration, GenAI semantic conventions) and
 * ai-sdk-legacy-<scenario>.json (`LegacyOpenTelemetry`, the `ai.*` spans of AI SDK ≤ 6), scenarios `generate-text`,
 * `stream-text` and `error`. Trace and span ids are deterministic (derived from the file name), so a rerun changes
 * only timestamps and durations. No network: the mock model answers, and the server listens on 127.0.0.1.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type IdGenerator, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { type AiSdkScenarioName, type AiSdkTelemetryFlavor, aiSdkScenarios } from './ai-sdk-emitter.ts';

const FIXTURES = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../packages/core/src/traces/genai/fixtures',
);

/** Ids from SHA-256(seed, counter): the same on every run, distinct across fixtures. */
function seededIds(seed: string): IdGenerator {
  let n = 0;
  const hex = (chars: number) => createHash('sha256').update(`${seed}:${n++}`).digest('hex').slice(0, chars);
  return { generateTraceId: () => hex(32), generateSpanId: () => hex(16) };
}

/** A local OTLP/HTTP endpoint that answers 200 `{}` and keeps every body it got. */
async function recordingServer() {
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, bodies, server };
}

async function capture(name: AiSdkScenarioName, flavor: AiSdkTelemetryFlavor): Promise<string> {
  const file = `ai-sdk-${flavor === 'legacy' ? 'legacy-' : ''}${name}.json`;
  const sink = await recordingServer();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'weather-app' }),
    idGenerator: seededIds(file),
    // one batch per scenario: the fixture is one request
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: sink.url }), {
        maxExportBatchSize: 1000,
        scheduledDelayMillis: 60_000,
      }),
    ],
  });
  try {
    await aiSdkScenarios[name]({ provider: provider, flavor });
    await provider.forceFlush();
  } finally {
    await provider.shutdown();
    sink.server.close();
  }
  if (sink.bodies.length !== 1) throw new Error(`${file}: expected one export request, got ${sink.bodies.length}`);
  const target = path.join(FIXTURES, file);
  writeFileSync(target, `${JSON.stringify(JSON.parse(sink.bodies[0]!), null, 2)}\n`);
  return target;
}

for (const flavor of ['semconv', 'legacy'] as const) {
  for (const name of Object.keys(aiSdkScenarios) as AiSdkScenarioName[]) {
    console.log(await capture(name, flavor));
  }
}
