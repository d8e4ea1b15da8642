import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qualified } from './connect.ts';
import { InsertBatcher, insertBody, RowsRefused } from './insert-batcher.ts';
import { clickhouseTargets, createScratchClickHouse, type ScratchClickHouse } from './testing.ts';

/** A batcher over a fake INSERT that records the row count of each body, and can be held or failed. */
function fake(options: Partial<ConstructorParameters<typeof InsertBatcher>[0]> = {}, fail?: (n: number) => unknown) {
  const inserts: number[] = [];
  const batcher = new InsertBatcher({
    location: 'test',
    rowsName: 'spans',
    flushIntervalMs: 60_000,
    ...options,
    insert: async (body) => {
      expect(body.endsWith('\n')).toBe(true);
      inserts.push(body.split('\n').length - 1);
      const failure = fail?.(inserts.length);
      if (failure) throw failure;
    },
  });
  return { batcher, inserts };
}
const lines = (n: number, tag = 'r') => Array.from({ length: n }, (_, i) => `{"${tag}":${i}}`).join('\n');

describe('InsertBatcher', () => {
  it('never splits an item: a batch is full by rows, an item larger than a batch goes alone', async () => {
    const { batcher, inserts } = fake({ maxBatchRows: 1000, maxConcurrentInserts: 1 });
    const adds = [
      batcher.add(lines(512), 512),
      batcher.add(lines(512), 512),
      batcher.add(lines(2000), 2000),
      batcher.add(lines(3), 3),
    ];
    // two items of 512 exceed a batch: the first goes at once, alone
    await adds[0];
    expect(inserts).toEqual([512]);
    await Promise.all([...adds, batcher.flush()]);
    expect(inserts).toEqual([512, 512, 2000, 3]);
    await batcher.close();
  });

  it('coalesces small items until the interval, and flush() writes what is waiting at once', async () => {
    const { batcher, inserts } = fake({ flushIntervalMs: 30 });
    const started = performance.now();
    await Promise.all(Array.from({ length: 20 }, () => batcher.add(lines(5), 5)));
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(inserts).toEqual([100]);
    const slow = fake({ flushIntervalMs: 60_000 });
    const pending = slow.batcher.add(lines(2), 2);
    await slow.batcher.flush();
    await pending;
    expect(slow.inserts).toEqual([2]);
  });

  it('with a slot free, sends once minBatchRows wait; while the slots are busy, batches grow up to maxBatchRows', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const inserts: number[] = [];
    const batcher = new InsertBatcher({
      location: 'test',
      rowsName: 'spans',
      flushIntervalMs: 60_000,
      minBatchRows: 1000,
      maxBatchRows: 5000,
      maxConcurrentInserts: 1,
      insert: async (body) => {
        inserts.push(body.split('\n').length - 1);
        if (inserts.length === 1) await held;
      },
    });
    const first = [batcher.add(lines(600), 600), batcher.add(lines(600), 600)];
    expect(inserts).toEqual([1200]);
    const more = Array.from({ length: 6 }, () => batcher.add(lines(600), 600));
    release();
    await Promise.all([...first, ...more]);
    expect(inserts).toEqual([1200, 3600]);
    await batcher.close();
  });

  it('bounds its queue in rows (not items): beyond, add() is Unavailable; an empty queue takes any item', async () => {
    const { batcher } = fake({ maxQueueRows: 1000 });
    const first = batcher.add(lines(600), 600);
    await expect(batcher.add(lines(600), 600)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining('600 spans are waiting'),
    });
    expect(batcher.stats().queueDepth).toBe(600);
    await batcher.close();
    await first;
    const alone = fake({ maxQueueRows: 10 });
    await Promise.all([alone.batcher.add(lines(50), 50), alone.batcher.flush()]);
    expect(alone.inserts).toEqual([50]);
    await alone.batcher.close();
    await expect(alone.batcher.add(lines(1), 1)).rejects.toThrow(/closed/);
  });

  it('fails only the items of a failed INSERT', async () => {
    const boom = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const { batcher } = fake({ maxBatchRows: 10, maxConcurrentInserts: 1 }, (n) => (n === 1 ? boom : undefined));
    const results = await Promise.allSettled([batcher.add(lines(10), 10), batcher.add(lines(10), 10)]);
    expect(results[0]).toMatchObject({ status: 'rejected', reason: { code: 'UNAVAILABLE', cause: boom } });
    expect(results[1]?.status).toBe('fulfilled');
    await batcher.close();
  });
});

describe.each(clickhouseTargets())('InsertBatcher on $name: a row ClickHouse refuses', (target) => {
  let scratch: ScratchClickHouse;
  let table = '';
  beforeAll(async () => {
    scratch = await createScratchClickHouse(target, { migrate: false });
    table = qualified(scratch.ch, 'rows');
    await scratch.ch.client.command({
      query: `CREATE TABLE ${table} (k String, n UInt32) ENGINE = MergeTree ORDER BY k`,
    });
  });
  afterAll(() => scratch?.drop());

  /** A batcher into `rows` (or another table) that counts its INSERTs. */
  const real = (into = table) => {
    let inserts = 0;
    const batcher = new InsertBatcher({
      location: scratch.ch.location,
      rowsName: 'rows',
      flushIntervalMs: 60_000,
      insert: (body) => {
        inserts += 1;
        return insertBody(scratch.ch, into, {}, body);
      },
    });
    return { batcher, inserts: () => inserts };
  };
  const stored = async (prefix: string) => {
    const result = await scratch.ch.client.query({
      query: `SELECT k FROM ${table} WHERE startsWith(k, {p:String}) ORDER BY k`,
      query_params: { p: prefix },
      format: 'JSONEachRow',
    });
    return (await result.json<{ k: string }>()).map((r) => r.k);
  };
  const row = (k: string, n: number | string = 1) => `{"k":${JSON.stringify(k)},"n":${JSON.stringify(n)}}`;

  it('one bad row among 32 items: the other 31 are written, only its own caller fails', async () => {
    const { batcher, inserts } = real();
    // `\ud800` as JSON text: ClickHouse refuses the whole INSERT over it (CANNOT_PARSE_ESCAPE_SEQUENCE)
    const lines = Array.from({ length: 32 }, (_, i) =>
      i === 13 ? '{"k":"a13 \\ud800","n":1}' : row(`a${String(i).padStart(2, '0')}`),
    );
    const settled = Promise.allSettled(lines.map((l) => batcher.add(l, 1)));
    await batcher.flush();
    const results = await settled;
    expect(results.map((r) => r.status)).toEqual(lines.map((_, i) => (i === 13 ? 'rejected' : 'fulfilled')));
    const refused = (results[13] as PromiseRejectedResult).reason;
    expect(refused).toBeInstanceOf(RowsRefused);
    expect(refused).toMatchObject({ written: 0, refused: 1, cause: { type: 'CANNOT_PARSE_ESCAPE_SEQUENCE' } });
    expect(await stored('a')).toEqual(lines.flatMap((_, i) => (i === 13 ? [] : [`a${String(i).padStart(2, '0')}`])));
    // found by halving: 1 + 2 per level (log2 32 = 5), not one INSERT per row
    expect(inserts()).toBeLessThanOrEqual(11);
    expect(batcher.stats()).toEqual({ queueDepth: 0, queueBytes: 0 });
    await batcher.close();
  });

  it("an item's refused rows fail alone too: its good rows and its neighbours are written", async () => {
    const { batcher } = real();
    const mixed = [row('b1'), row('b2', 'not a number'), row('b3'), '{"k":"b4 \\ud83d","n":1}', row('b5')].join('\n');
    const settled = Promise.allSettled([
      batcher.add(row('b0'), 1),
      batcher.add(mixed, 5),
      batcher.add([row('b6'), row('b7')].join('\n'), 2),
    ]);
    await batcher.flush();
    const results = await settled;
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({
      written: 3,
      refused: 2,
      message: expect.stringMatching(/^ClickHouse refused 2 of 5 rows for their data/),
    });
    expect(await stored('b')).toEqual(['b0', 'b1', 'b3', 'b5', 'b6', 'b7']);
    await batcher.close();
  });

  it('an outage is not split: the missing table fails the whole batch at once, as Unavailable', async () => {
    const { batcher, inserts } = real(qualified(scratch.ch, 'no_such_table'));
    const settled = Promise.allSettled(Array.from({ length: 8 }, (_, i) => batcher.add(row(`c${i}`), 1)));
    await batcher.flush();
    const results = await settled;
    for (const r of results) {
      expect(r).toMatchObject({
        status: 'rejected',
        reason: { code: 'UNAVAILABLE', message: expect.stringContaining('UNKNOWN_TABLE') },
      });
    }
    expect(inserts()).toBe(1);
    await batcher.close();
  });
});
