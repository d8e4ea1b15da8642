/**
 * The ONE behavioural suite every RunStream implementation passes (memory.test.ts, redis.test.ts), as
 * `backend.contract.ts` is for the provider-trace backends. Every test uses fresh run ids, so a shared Redis is fine.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Conflict, Expired, NotFound } from '../errors.ts';
import { newId } from '../ids.ts';
import { type RunEvent, serializedRunEvent } from './run-event.ts';
import {
  formatEventId,
  parseEventId,
  type RunStream,
  type RunStreamOptions,
  type StreamItem,
  StreamLost,
  type StreamPosition,
} from './run-stream.ts';

export interface RunStreamContractOptions {
  /** A fresh store (closed by the suite). */
  create(options?: RunStreamOptions): Promise<RunStream>;
  /** Loses a run's stream as a Redis restart would (memory: drop it; Redis: DEL the key). */
  lose(stream: RunStream, runId: string): Promise<void>;
  /** How many reads the store still holds resources for (memory: waiting readers; Redis: runs the hub reads). */
  held(stream: RunStream): number;
  /** The store hands out events with the JSON it read them from (serializedRunEvent): Redis. */
  keepsJson?: boolean;
}

export const say = (text: string): RunEvent => ({ messageType: 'assistant_message', content: text }) as RunEvent;
const stop = (stopReason: 'end_turn' | 'cancelled' | 'error'): RunEvent => ({ messageType: 'stop_reason', stopReason });

/** `say:<text>`, `stop:<reason>`, `END`. */
export function label(item: StreamItem): string {
  if (item.kind === 'end') return 'END';
  const e = item.event;
  if (e.messageType === 'assistant_message') return `say:${String(e.content)}`;
  if (e.messageType === 'stop_reason') return `stop:${e.stopReason}`;
  return e.messageType;
}

export async function collect(items: AsyncIterable<StreamItem>, max = Number.POSITIVE_INFINITY): Promise<StreamItem[]> {
  const out: StreamItem[] = [];
  for await (const item of items) {
    out.push(item);
    if (out.length >= max) break;
  }
  return out;
}

async function eventually(ok: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Marks a promise expected to reject as handled now (it is awaited after other awaits). */
export function guard<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const never = () => new AbortController().signal;

export function runStreamContract(name: string, options: RunStreamContractOptions): void {
  describe(`run stream contract: ${name}`, () => {
    const opened: RunStream[] = [];
    const open = async (tuning?: RunStreamOptions) => {
      const stream = await options.create(tuning);
      opened.push(stream);
      return stream;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    it('appends in order and replays with ids "<epoch>:<seq>", seq from 1 without gaps; the end marker ends the read', async () => {
      const s = await open();
      const runId = newId('run');
      expect(await s.info(runId)).toBeNull();
      const a = await s.append(runId, [say('1'), say('2')]);
      const b = await s.append(runId, [say('3')]);
      const c = await s.append(runId, [stop('end_turn'), say('4')], { end: true });
      expect(a.ended).toBe(false);
      expect(c.ended).toBe(true);
      const positions = [...a.positions, ...b.positions, ...c.positions];
      expect(positions.map((p) => p.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(new Set(positions.map((p) => p.epoch)).size).toBe(1);
      const items = await collect(s.read(runId, { signal: never() }));
      expect(items.map(label)).toEqual(['say:1', 'say:2', 'say:3', 'stop:end_turn', 'say:4', 'END']);
      const events = items.flatMap((i) => (i.kind === 'event' ? [i] : []));
      expect(events.map((i) => i.id)).toEqual(positions.map(formatEventId));
      expect(events.map((i) => [i.event.runId, i.event.seqId])).toEqual(positions.map((p) => [runId, p.seq]));
      expect(parseEventId(events[0]?.id ?? '')).toEqual(positions[0]);
      const info = await s.info(runId);
      expect(info).toMatchObject({ head: positions[4], ended: true, stopReason: 'end_turn' });
      expect(Math.abs((info?.lastWriteAt ?? 0) - Date.now())).toBeLessThan(5000);
    });

    it('the JSON a store keeps for an event (the api sends it as is) is JSON.stringify of the event, backlog and live', async () => {
      const s = await open();
      const runId = newId('run');
      const texts = ['plain', 'quote " backslash \\ newline \n tab \t', 'émoji 🚀 \u2028 \u0000 nul', ''];
      const events: RunEvent[] = [
        ...texts.map((content, i) => ({ messageType: 'assistant_message' as const, id: `m${i}`, content })),
        { messageType: 'usage_statistics', promptTokens: 3, completionTokens: 4, totalTokens: 7, stepCount: 1 },
      ];
      await s.append(runId, events.slice(0, 2));
      const reading = collect(s.read(runId, { signal: never() }));
      await new Promise((r) => setTimeout(r, 50));
      await s.append(runId, [...events.slice(2), stop('end_turn')], { end: true });
      const read = (await reading).flatMap((i) => (i.kind === 'event' ? [i.event] : []));
      expect(read).toHaveLength(events.length + 1);
      for (const event of read) {
        const kept = serializedRunEvent(event);
        if (kept !== undefined) expect(kept).toBe(JSON.stringify(event));
      }
      expect(serializedRunEvent({ ...read[0] })).toBeUndefined(); // a copy does not carry it
      if (options.keepsJson) expect(read.every((event) => serializedRunEvent(event) !== undefined)).toBe(true);
    });

    it('reads from a cursor (lastEventId) and from startingAfter; lastEventId wins; a read from the last event gets only the end', async () => {
      const s = await open();
      const runId = newId('run');
      const { positions } = await s.append(runId, [say('1'), say('2'), say('3'), say('4'), stop('end_turn')], {
        end: true,
      });
      const after = positions[1] as StreamPosition;
      expect((await collect(s.read(runId, { after, signal: never() }))).map(label)).toEqual([
        'say:3',
        'say:4',
        'stop:end_turn',
        'END',
      ]);
      expect((await collect(s.read(runId, { startingAfter: 3, signal: never() }))).map(label)).toEqual([
        'say:4',
        'stop:end_turn',
        'END',
      ]);
      expect((await collect(s.read(runId, { after, startingAfter: 4, signal: never() }))).map(label)).toEqual([
        'say:3',
        'say:4',
        'stop:end_turn',
        'END',
      ]);
      expect((await collect(s.read(runId, { after: positions[4], signal: never() }))).map(label)).toEqual(['END']);
      expect((await collect(s.read(runId, { startingAfter: 0, signal: never() }))).length).toBe(6);
    });

    it('batchSize 1 reads a backlog and live events (the reference stalled)', async () => {
      const s = await open();
      const runId = newId('run');
      await s.append(runId, [say('1'), say('2'), say('3')]);
      const reading = collect(s.read(runId, { batchSize: 1, signal: never() }));
      await s.append(runId, [say('4')]);
      await s.append(runId, [say('5'), stop('end_turn')], { end: true });
      expect((await reading).map(label)).toEqual(['say:1', 'say:2', 'say:3', 'say:4', 'say:5', 'stop:end_turn', 'END']);
      const fromTwo = await collect(s.read(runId, { startingAfter: 2, batchSize: 1, signal: never() }));
      expect(fromTwo.map(label)).toEqual(['say:3', 'say:4', 'say:5', 'stop:end_turn', 'END']);
    });

    it('delivers live to 50 concurrent readers (half join mid-stream), each getting every event once, in order, and the end once', async () => {
      const s = await open();
      const runId = newId('run');
      const total = 200;
      const readers: Promise<StreamItem[]>[] = [];
      for (let i = 0; i < 25; i++) readers.push(collect(s.read(runId, { signal: never(), batchSize: 7 })));
      for (let n = 1; n <= total; n += 4) {
        await s.append(runId, [say(String(n)), say(String(n + 1)), say(String(n + 2)), say(String(n + 3))]);
        if (n % 16 === 1 && readers.length < 50) {
          for (let i = 0; i < 4 && readers.length < 50; i++)
            readers.push(collect(s.read(runId, { signal: never(), batchSize: 7 })));
        }
        if (n % 20 === 1) await sleep(1);
      }
      while (readers.length < 50) readers.push(collect(s.read(runId, { signal: never() })));
      await s.end(runId, { stopReason: 'end_turn', fallback: 'end_turn' });
      const expected = [...Array.from({ length: total }, (_, i) => `say:${i + 1}`), 'stop:end_turn', 'END'];
      const results = await Promise.all(readers);
      expect(results).toHaveLength(50);
      for (const items of results) {
        expect(items.map(label)).toEqual(expected);
        const seqs = items.flatMap((i) => (i.kind === 'event' ? [i.event.seqId] : []));
        expect(seqs).toEqual(Array.from({ length: total + 1 }, (_, i) => i + 1));
      }
      await eventually(() => options.held(s) === 0);
    });

    it('ends every waiting reader exactly once; appending after the end is a Conflict; ending again changes nothing', async () => {
      const s = await open();
      const runId = newId('run');
      await s.append(runId, [say('a')]);
      const readers = Array.from({ length: 5 }, () => collect(s.read(runId, { signal: never() })));
      await sleep(20);
      const ended = await s.end(runId, { stopReason: null, fallback: 'cancelled' });
      expect(ended.ended).toBe(true);
      expect(ended.positions.map((p) => p.seq)).toEqual([2]);
      for (const items of await Promise.all(readers))
        expect(items.map(label)).toEqual(['say:a', 'stop:cancelled', 'END']);
      await expect(s.append(runId, [say('late')])).rejects.toBeInstanceOf(Conflict);
      await expect(s.append(runId, [stop('end_turn')], { end: true })).rejects.toBeInstanceOf(Conflict);
      expect(await s.end(runId, { stopReason: 'error', fallback: 'error' })).toEqual({ positions: [], ended: false });
      expect((await collect(s.read(runId, { signal: never() }))).map(label)).toEqual([
        'say:a',
        'stop:cancelled',
        'END',
      ]);
      expect(await s.info(runId)).toMatchObject({ head: { seq: 2 }, ended: true, stopReason: 'cancelled' });
    });

    it('end() appends the stop reason only when the stream lacks it, with the given events first, atomically', async () => {
      const s = await open();
      const same = newId('run');
      await s.append(same, [stop('end_turn'), say('usage')]);
      expect((await s.end(same, { stopReason: 'end_turn', fallback: 'end_turn' })).positions).toEqual([]);
      expect((await collect(s.read(same, { signal: never() }))).map(label)).toEqual([
        'stop:end_turn',
        'say:usage',
        'END',
      ]);

      const anyReason = newId('run');
      await s.append(anyReason, [stop('end_turn')]);
      await s.end(anyReason, { stopReason: null, fallback: 'cancelled' });
      expect((await collect(s.read(anyReason, { signal: never() }))).map(label)).toEqual(['stop:end_turn', 'END']);

      const differs = newId('run');
      await s.append(differs, [stop('end_turn')]);
      await s.end(differs, { stopReason: 'cancelled', fallback: 'cancelled' });
      expect((await collect(s.read(differs, { signal: never() }))).map(label)).toEqual([
        'stop:end_turn',
        'stop:cancelled',
        'END',
      ]);

      const fresh = newId('run');
      const r = await s.end(fresh, {
        stopReason: 'error',
        fallback: 'error',
        events: [say('x'), stop('error'), say('y')],
      });
      expect(r.positions.map((p) => p.seq)).toEqual([1, 2, 3]);
      expect((await collect(s.read(fresh, { signal: never() }))).map(label)).toEqual([
        'say:x',
        'stop:error',
        'say:y',
        'END',
      ]);
    });

    it('concurrent writers (10 × 100 events) get unique, gapless seqs, and readers see each writer in its order', async () => {
      const s = await open();
      const runId = newId('run');
      const got = await Promise.all(
        Array.from({ length: 10 }, async (_, w) => {
          const seqs: number[] = [];
          for (let i = 0; i < 100; i++) {
            const { positions } = await s.append(runId, [say(`${w}.${i}`)]);
            seqs.push(...positions.map((p) => p.seq));
          }
          return seqs;
        }),
      );
      const all = got.flat().sort((x, y) => x - y);
      expect(all).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
      await s.end(runId, { stopReason: 'end_turn', fallback: 'end_turn' });
      const items = (await collect(s.read(runId, { batchSize: 333, signal: never() }))).flatMap((i) =>
        i.kind === 'event' ? [i] : [],
      );
      expect(items.map((i) => i.event.seqId)).toEqual(Array.from({ length: 1001 }, (_, i) => i + 1));
      for (let w = 0; w < 10; w++) {
        const mine = items.map(label).filter((l) => l.startsWith(`say:${w}.`));
        expect(mine).toEqual(Array.from({ length: 100 }, (_, i) => `say:${w}.${i}`));
      }
    });

    it('a cursor from a lost stream is an error that says so, never silence; the new epoch starts over with other ids', async () => {
      const s = await open();
      const runId = newId('run');
      const { positions } = await s.append(runId, [say('1'), say('2')]);
      const old = positions[1] as StreamPosition;
      await options.lose(s, runId);
      const lost = collect(s.read(runId, { after: old, signal: never() }));
      await expect(lost).rejects.toBeInstanceOf(StreamLost);
      await expect(lost).rejects.toThrow(/was lost/);
      const again = await s.append(runId, [say('x'), say('y'), say('z')]);
      expect(again.positions[0]?.epoch).not.toBe(old.epoch);
      expect(again.positions.map((p) => p.seq)).toEqual([1, 2, 3]);
      await expect(collect(s.read(runId, { after: old, signal: never() }))).rejects.toBeInstanceOf(StreamLost);
      await expect(
        collect(s.read(runId, { after: { epoch: old.epoch, seq: 0 }, signal: never() })),
      ).rejects.toBeInstanceOf(StreamLost);
      await s.end(runId, { stopReason: 'end_turn', fallback: 'end_turn' });
      const fresh = await collect(s.read(runId, { signal: never() }));
      expect(fresh.map(label)).toEqual(['say:x', 'say:y', 'say:z', 'stop:end_turn', 'END']);
      expect(fresh[0]?.kind === 'event' && fresh[0].id).toBe(formatEventId(again.positions[0] as StreamPosition));
    });

    it('a live reader whose stream is lost and written again gets the lost-stream error', async () => {
      const s = await open();
      const runId = newId('run');
      await s.append(runId, [say('1')]);
      const ac = new AbortController();
      const seen: string[] = [];
      const reading = guard(
        (async () => {
          for await (const item of s.read(runId, { signal: ac.signal })) seen.push(label(item));
        })(),
      );
      await eventually(() => seen.length === 1);
      await options.lose(s, runId);
      await s.append(runId, [say('a'), say('b'), say('c')]);
      await expect(reading).rejects.toBeInstanceOf(StreamLost);
      expect(seen).toEqual(['say:1']);
      await eventually(() => options.held(s) === 0);
    });

    it('a cursor past the head is NotFound; a malformed id does not parse', async () => {
      const s = await open();
      const runId = newId('run');
      const { positions } = await s.append(runId, [say('1')]);
      const epoch = positions[0]?.epoch ?? '';
      const beyond = collect(s.read(runId, { after: { epoch, seq: 5 }, signal: never() }));
      await expect(beyond).rejects.toBeInstanceOf(NotFound);
      await expect(beyond).rejects.not.toBeInstanceOf(StreamLost);
      expect(parseEventId('x')).toBeNull();
      expect(parseEventId(`${epoch}:-1`)).toBeNull();
    });

    it('keeps a stream for the retention after its last write (refreshed by writes), then Expired', async () => {
      const s = await open({ retentionMs: 400 });
      const runId = newId('run');
      let last: StreamPosition | undefined;
      for (let i = 0; i < 5; i++) {
        last = (await s.append(runId, [say(String(i))])).positions[0];
        await sleep(150);
      }
      expect(await s.info(runId)).toMatchObject({ head: { seq: 5 } });
      await sleep(700);
      expect(await s.info(runId)).toBeNull();
      const expired = collect(s.read(runId, { after: last, signal: never() }));
      await expect(expired).rejects.toBeInstanceOf(Expired);
      await expect(expired).rejects.toThrow(/expired/);
    });

    it('a waiting reader whose stream expires gets Expired, not silence', async () => {
      const s = await open({ retentionMs: 300 });
      const runId = newId('run');
      await s.append(runId, [say('1')]);
      const reading = collect(s.read(runId, { signal: never() }));
      // The Redis hub notices at its next quiet check; the memory broker at its sweep.
      await expect(reading).rejects.toBeInstanceOf(Expired);
    }, 20_000);

    it('an aborted reader ends at once and releases what it held', async () => {
      const s = await open();
      const runId = newId('run');
      await s.append(runId, [say('1')]);
      const controllers = Array.from({ length: 5 }, () => new AbortController());
      const seen = controllers.map(() => [] as string[]);
      const readers = controllers.map(async (ac, i) => {
        for await (const item of s.read(runId, { signal: ac.signal })) seen[i]?.push(label(item));
      });
      await eventually(() => seen.every((x) => x.length === 1) && options.held(s) > 0);
      const t0 = Date.now();
      for (const ac of controllers) ac.abort();
      await Promise.all(readers);
      expect(Date.now() - t0).toBeLessThan(1000);
      await eventually(() => options.held(s) === 0);
      // a reader aborted while the consumer does not pull releases too
      const ac = new AbortController();
      const it = s.read(runId, { signal: ac.signal })[Symbol.asyncIterator]();
      expect((await it.next()).value).toMatchObject({ kind: 'event' });
      const pending = it.next();
      await eventually(() => options.held(s) > 0);
      ac.abort();
      expect(await pending).toMatchObject({ done: true });
      await eventually(() => options.held(s) === 0);
      // an already aborted signal reads nothing
      expect(await collect(s.read(runId, { signal: AbortSignal.abort() }))).toEqual([]);
    });

    it('trims to maxLen, keeping the newest entries (a contiguous suffix ending at the head)', async () => {
      const s = await open({ maxLen: 50 });
      const runId = newId('run');
      for (let i = 0; i < 50; i++)
        await s.append(
          runId,
          Array.from({ length: 10 }, (_, j) => say(String(i * 10 + j + 1))),
        );
      await s.end(runId, { stopReason: 'end_turn', fallback: 'end_turn' });
      const items = await collect(s.read(runId, { signal: never() }));
      const seqs = items.flatMap((i) => (i.kind === 'event' ? [i.event.seqId] : []));
      expect(items.at(-1)?.kind).toBe('end');
      expect(seqs.at(-1)).toBe(501);
      expect(seqs.length).toBeGreaterThanOrEqual(50);
      // Redis trims whole macro nodes (`MAXLEN ~`), so up to a node more may stay
      expect(seqs.length).toBeLessThanOrEqual(50 + 200);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => 501 - seqs.length + 1 + i));
    });

    it('close() ends waiting readers with Unavailable', async () => {
      const s = await options.create();
      const runId = newId('run');
      await s.append(runId, [say('1')]);
      const reading = guard(collect(s.read(runId, { signal: never() })));
      await sleep(50);
      await s.close();
      await expect(reading).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    });
  });
}
