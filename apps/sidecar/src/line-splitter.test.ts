import { describe, expect, it } from 'vitest';
import { LineSplitter } from './line-splitter.ts';

function collect(maxLineBytes: number, chunks: Buffer[], end = true) {
  const lines: string[] = [];
  const tooLarge: number[] = [];
  const splitter = new LineSplitter(maxLineBytes);
  const out = { line: (l: Buffer) => lines.push(l.toString()), tooLarge: (n: number) => tooLarge.push(n) };
  for (const c of chunks) splitter.push(c, out);
  if (end) splitter.end(out);
  return { lines, tooLarge, pending: splitter.pendingBytes };
}

describe('LineSplitter', () => {
  const text = 'alpha\nbeta\n{"json":"é ✓"}\n\nlast-without-newline';
  const bytes = Buffer.from(text);

  it('splits many lines in one chunk and skips empty lines', () => {
    expect(collect(1000, [bytes]).lines).toEqual(['alpha', 'beta', '{"json":"é ✓"}', 'last-without-newline']);
  });

  it('gives the same lines for every split point, and for one byte per chunk', () => {
    const expected = collect(1000, [bytes]).lines;
    for (let i = 0; i <= bytes.length; i++) {
      for (let j = i; j <= bytes.length; j += 3) {
        expect(collect(1000, [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]).lines).toEqual(expected);
      }
    }
    const single = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    expect(collect(1000, single).lines).toEqual(expected);
  });

  it('skips a line over the cap up to its newline, counts it once, and goes on', () => {
    const long = 'x'.repeat(50);
    const input = Buffer.from(`ok1\n${long}\nok2\n${'y'.repeat(10)}\n`);
    expect(collect(10, [input])).toEqual({ lines: ['ok1', 'ok2', 'y'.repeat(10)], tooLarge: [50], pending: 0 });
    // the same line arriving in pieces is never buffered past the cap
    const pieces = [
      Buffer.from('ok1\nxxxx'),
      Buffer.from('x'.repeat(20)),
      Buffer.from('x'.repeat(26)),
      Buffer.from('\nok2\n'),
    ];
    const splitter = new LineSplitter(10);
    const seen: string[] = [];
    const big: number[] = [];
    const out = { line: (l: Buffer) => seen.push(l.toString()), tooLarge: (n: number) => big.push(n) };
    for (const p of pieces) {
      splitter.push(p, out);
      expect(splitter.pendingBytes).toBeLessThanOrEqual(10);
    }
    expect(seen).toEqual(['ok1', 'ok2']);
    expect(big).toEqual([50]);
  });

  it('accepts a line of exactly the cap, also across chunks', () => {
    expect(collect(5, [Buffer.from('12345\n')]).lines).toEqual(['12345']);
    expect(collect(5, [Buffer.from('123'), Buffer.from('45\n123456\n')])).toMatchObject({
      lines: ['12345'],
      tooLarge: [6],
    });
  });

  it('reports an over-long line cut by the end of the connection', () => {
    expect(collect(5, [Buffer.from('ok\n1234567890')])).toMatchObject({ lines: ['ok'], tooLarge: [10] });
  });

  it('keeps a partial line pending until its newline arrives', () => {
    const r = collect(100, [Buffer.from('{"a":1}\n{"b":')], false);
    expect(r).toEqual({ lines: ['{"a":1}'], tooLarge: [], pending: 5 });
  });
});
