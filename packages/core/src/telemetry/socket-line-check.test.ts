import { afterEach, describe, expect, it, vi } from 'vitest';
import { newId } from '../ids.ts';
import { sampleTraces } from '../testing/sample-traces.ts';
import { toProviderTrace } from './provider-trace.ts';
import { checkLine } from './socket-line-check.ts';
import { decodeLine, encodeTraceRecord } from './socket-protocol.ts';

/** The v1 lines of the shared samples, as the socket backend writes them (without the newline). */
function sampleLines(): Buffer[] {
  return sampleTraces().map((s, i) =>
    Buffer.from(
      encodeTraceRecord(
        toProviderTrace({
          ...s,
          stepId: i % 2 ? newId('step') : null,
          runId: newId('run'),
          agentTags: i % 3 ? ['a', 'b\n"c'] : null,
        }),
      ).slice(0, -1),
    ),
  );
}

/** decodeLine's verdict without the record. */
function verdict(line: Buffer) {
  const decoded = decodeLine(line);
  return decoded.kind === 'ok' ? { kind: 'ok' } : decoded;
}

afterEach(() => vi.restoreAllMocks());

describe('checkLine', () => {
  it('accepts the socket backend lines without parsing them', () => {
    const lines = sampleLines();
    const parse = vi.spyOn(JSON, 'parse');
    for (const line of lines) expect(checkLine(line)).toEqual({ kind: 'ok' });
    expect(parse).not.toHaveBeenCalled();
  });

  it("gives decodeLine's verdict on hand-made edge cases", () => {
    const good = JSON.parse(sampleLines()[0]?.toString() ?? '') as Record<string, unknown>;
    const variants: string[] = [
      '',
      '{}',
      '[]',
      'null',
      '{"protocol_version":1}',
      JSON.stringify({ ...good, protocol_version: 2 }),
      JSON.stringify({ ...good, protocol_version: '1' }),
      JSON.stringify(good).replace('"protocol_version":1', '"protocol_version":1.0'),
      JSON.stringify(good).replace('"protocol_version":1', '"protocol_version":1e0'),
      JSON.stringify(good).replace('"protocol_version":1', '"protocol\\u005fversion":1'),
      `${JSON.stringify(good).slice(0, -1)},"protocol_version":2}`,
      `${JSON.stringify(good).slice(0, -1)},"request":[]}`,
      `${JSON.stringify(good).slice(0, -1)},"extra":{"deep":[1,-0.5e+3,true,false,null,"\\u00e9\\n"]}}`,
      `  ${JSON.stringify(good)}\r`,
      `${JSON.stringify(good)} x`,
      `\ufeff${JSON.stringify(good)}`,
      JSON.stringify({ ...good, provider_trace_id: '' }),
      JSON.stringify({ ...good, agent_id: 3 }),
      JSON.stringify({ ...good, tags: ['a', 1] }),
      JSON.stringify({ ...good, tags: 'a' }),
      JSON.stringify({ ...good, type: null }),
      JSON.stringify({ ...good, request: null }),
      JSON.stringify({ ...good, response: [] }),
      JSON.stringify({ ...good, error: undefined }),
      JSON.stringify({ ...good, timestamp: '2026-01-16T21:00:52+00:00' }),
      JSON.stringify({ ...good, timestamp: '2026-01-16 21:00:52' }),
      JSON.stringify({ ...good, timestamp: '2026-01-16T21:00:52\\u002e1Z' }),
      JSON.stringify(good).replace('"request":{', '"request":{"a":"\u0001",'),
      JSON.stringify(good).replace('"request":{', '"request":{"a":"\\x",'),
      JSON.stringify(good).replace('"request":{', '"request":{"a":01,'),
      JSON.stringify(good).replace('"request":{', '"request":{"a":[1,],'),
      JSON.stringify(good).replace('"request":{', `"request":{"a":${'['.repeat(100)}${']'.repeat(100)},`),
      JSON.stringify(good).replace('"request":{', '"request":{"é":"ü\u2028",'),
    ];
    for (const text of variants) {
      const line = Buffer.from(text);
      expect({ text, verdict: checkLine(line) }).toEqual({ text, verdict: verdict(line) });
    }
  });

  it('agrees with decodeLine on thousands of corrupted lines', () => {
    const lines = sampleLines();
    let seed = 17;
    const rnd = (n: number) => {
      seed = (seed * 48271) % 2147483647;
      return seed % n;
    };
    // bytes that matter to JSON, and some that do not
    const bytes = Buffer.from('{}[]":,\\0123456789-+.eEtrufalsn \t\r\u0001xé');
    let accepted = 0;
    for (let k = 0; k < 6000; k++) {
      const line = Buffer.from(lines[rnd(lines.length)] as Buffer);
      let mutated: Buffer;
      const at = rnd(line.length);
      switch (rnd(4)) {
        case 0:
          line[at] = bytes[rnd(bytes.length)] as number;
          mutated = line;
          break;
        case 1:
          mutated = Buffer.concat([line.subarray(0, at), line.subarray(at + 1 + rnd(3))]);
          break;
        case 2:
          mutated = Buffer.concat([
            line.subarray(0, at),
            bytes.subarray(rnd(bytes.length)).subarray(0, 2),
            line.subarray(at),
          ]);
          break;
        default:
          mutated = line.subarray(0, at);
      }
      const expected = verdict(mutated);
      if (expected.kind === 'ok') accepted += 1;
      expect(checkLine(mutated)).toEqual(expected);
    }
    // the corruptions hit both sides of the line between accepted and rejected
    expect(accepted).toBeGreaterThan(100);
    expect(accepted).toBeLessThan(5900);
  });
});
