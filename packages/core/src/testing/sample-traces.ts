import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface SampleTrace {
  callType: string;
  requestJson: Record<string, unknown>;
  responseJson: Record<string, unknown>;
}

/**
 * The realistic provider traces of shared/data (OpenAI- and Anthropic-shaped calls, summarization, errors;
 * ~2.2 KB each), vendored in test-data/ so tests and benchmarks use the same payloads on any machine.
 */
export function sampleTraces(): SampleTrace[] {
  const file = fileURLToPath(new URL('../../test-data/provider-traces.sample.ndjson', import.meta.url));
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const { callType, requestJson, responseJson } = JSON.parse(line);
      return { callType, requestJson, responseJson };
    });
}
