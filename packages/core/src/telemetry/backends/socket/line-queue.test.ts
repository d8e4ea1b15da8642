import { describe, expect, it } from 'vitest';
import { Tally } from '../../tally.ts';
import { LineQueue } from './line-queue.ts';

describe('LineQueue', () => {
  it('encodes lines given in pieces into one block and hands out views of it, never copies', () => {
    const queue = new LineQueue(100, 1 << 20, new Tally(), 4096);
    queue.push(['{"a":', '"é"', '}\n'], 'o1');
    queue.push(['{"b":1}\n'], 'o2');
    expect(queue.bytes).toBe(Buffer.byteLength('{"a":"é"}\n{"b":1}\n'));
    const first = queue.take(Buffer.byteLength('{"a":"é"}\n'), 'conn');
    queue.push(['{"c":2}\n'], 'o1');
    const rest = queue.take(1 << 20, 'conn');
    expect(first.data.toString()).toBe('{"a":"é"}\n');
    expect(rest.data.toString()).toBe('{"b":1}\n{"c":2}\n');
    expect([first.records, rest.records, rest.orgs.of('o1'), rest.orgs.of('o2')]).toEqual([1, 2, 1, 1]);
    // one block: the second chunk starts where the first ended, in the same memory
    expect(rest.data.buffer).toBe(first.data.buffer);
    expect(rest.data.byteOffset).toBe(first.data.byteOffset + first.data.length);
    expect([queue.length, queue.bytes]).toEqual([0, 0]);
  });

  it('starts a new block when a line does not fit, gives a large line its own, and keeps the order', () => {
    const queue = new LineQueue(100, 1 << 20, new Tally(), 64);
    const lines = ['a'.repeat(30), 'b'.repeat(30), 'c'.repeat(100), 'd'.repeat(10)].map((s) => `${s}\n`);
    for (const line of lines) queue.push([line], 'o');
    const taken: string[] = [];
    while (queue.length > 0) taken.push(queue.take(1 << 20, 'conn').data.toString());
    expect(taken.join('')).toBe(lines.join(''));
    // a and b share a block (one chunk), c has its own, d did not fit after b
    expect(taken).toEqual([`${lines[0]}${lines[1]}`, lines[2], lines[3]]);
  });

  it('drops the oldest beyond its bounds, and a line larger than maxBytes at once, counting each', () => {
    const dropped = new Tally();
    const queue = new LineQueue(3, 25, dropped, 4096);
    for (const org of ['o1', 'o2', 'o3', 'o4']) queue.push([`${org}-line\n`], org);
    expect([queue.length, dropped.of('o1')]).toEqual([3, 1]);
    queue.push(['x'.repeat(30)], 'big');
    expect([queue.length, dropped.of('big')]).toEqual([3, 1]);
    queue.push(['y'.repeat(20), '\n'], 'o5');
    expect([queue.length, queue.bytes, dropped.total]).toEqual([1, 21, 5]);
    expect(queue.take(1 << 20, 'conn').data.toString()).toBe(`${'y'.repeat(20)}\n`);
  });
});
