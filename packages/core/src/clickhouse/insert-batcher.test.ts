import { describe, expect, it } from 'vitest';
import { InsertBatcher } from './insert-batcher.ts';

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
    const adds = [batcher.add(lines(512), 512), batcher.add(lines(512), 512), batcher.add(lines(2000), 2000), batcher.add(lines(3), 3)];
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
