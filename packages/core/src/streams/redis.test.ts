import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conflict, Unavailable } from '../errors.ts';
import { newId } from '../ids.ts';
import type { RunChange } from '../runs/run-manager.ts';
import { createTestRuntime, databaseTargets, streamTargets, testConfig } from '../testing/index.ts';
import { hasRedisServer, PrivateRedis } from '../testing/private-redis.ts';
import { RedisRunChangeFeed } from './redis-changes.ts';
import { redisError } from './redis-connection.ts';
import { RedisRunStream } from './redis-run-stream.ts';
import { streamKey } from './redis-scripts.ts';
import { collect, guard, label, runStreamContract, say } from './run-stream.contract.ts';
import { StreamLost, type StreamPosition } from './run-stream.ts';

const redisTarget = streamTargets().find((t) => t.name === 'redis');
if (redisTarget) runStreamContract('redis', redisTarget);

const never = () => new AbortController().signal;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('redis errors', () => {
  it('maps the script refusal to Conflict, connection trouble and availability replies to Unavailable, other replies stay bugs', () => {
    const reply = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });
    expect(redisError(reply('RUNTRACE_ENDED the stream has ended'), 'run-x')).toBeInstanceOf(Conflict);
    expect(redisError(reply('LOADING Redis is loading the dataset in memory'))).toBeInstanceOf(Unavailable);
    expect(redisError(reply('OOM command not allowed'))).toBeInstanceOf(Unavailable);
    expect(redisError(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBeInstanceOf(
      Unavailable,
    );
    expect(
      redisError(
        Object.assign(new Error('Reached the max retries per request limit'), { name: 'MaxRetriesPerRequestError' }),
      ),
    ).toBeInstanceOf(Unavailable);
    const wrongType = reply('WRONGTYPE Operation against a key holding the wrong kind of value');
    expect(redisError(wrongType)).toBe(wrongType);
  });
});

const privateServers = hasRedisServer() ? ['redis-server'] : [];
if (!privateServers.length && testConfig.requireServices) {
  throw new Error('RUNTRACE_REQUIRE_SERVICES=1 but redis-server is not on PATH: the restart tests cannot run');
}

describe.each(privateServers)('Redis run streams on a private %s', () => {
  let server: PrivateRedis;
  beforeAll(async () => {
    server = await PrivateRedis.create();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('a restart in the middle of a stream: readers get Unavailable promptly; from their last cursor, the lost-stream error', async () => {
    const s = await RedisRunStream.connect({ url: server.url, connectTimeoutMs: 500 });
    try {
      const runId = newId('run');
      await s.append(runId, [say('1'), say('2')]);
      let last: StreamPosition | undefined;
      const reading = guard(
        (async () => {
          for await (const item of s.read(runId, { signal: never() })) {
            if (item.kind === 'event') last = { epoch: item.id.split(':')[0] as string, seq: item.event.seqId };
          }
        })(),
      );
      await s.append(runId, [say('3')]);
      const deadline = Date.now() + 5000;
      while (last?.seq !== 3 && Date.now() < deadline) await sleep(5);
      expect(last?.seq).toBe(3);
      const t0 = Date.now();
      await server.stop();
      await expect(reading).rejects.toBeInstanceOf(Unavailable);
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(s.stats().hubRuns).toBe(0);
      // while Redis is down: writes and new reads fail fast, retryable
      const t1 = Date.now();
      await expect(s.append(runId, [say('4')])).rejects.toBeInstanceOf(Unavailable);
      await expect(collect(s.read(runId, { after: last, signal: never() }))).rejects.toBeInstanceOf(Unavailable);
      expect(Date.now() - t1).toBeLessThan(2000);

      await server.start();
      // The client reconnects by itself; a restarted reader from its last cursor learns the stream was lost.
      let outcome: unknown;
      const until = Date.now() + 10_000;
      for (;;) {
        outcome = await collect(s.read(runId, { after: last, signal: never() })).catch((err: unknown) => err);
        if (!(outcome instanceof Unavailable) || Date.now() > until) break;
        await sleep(50);
      }
      expect(outcome).toBeInstanceOf(StreamLost);
      // The producer writes on: a new epoch, and the old cursor still says lost (never ids reused silently).
      const again = await s.append(runId, [say('4'), say('5'), say('6'), say('7')]);
      expect(again.positions[0]).toMatchObject({ seq: 1 });
      expect(again.positions[0]?.epoch).not.toBe(last?.epoch);
      await expect(collect(s.read(runId, { after: last, signal: never() }))).rejects.toBeInstanceOf(StreamLost);
      // A reader waiting live on the new epoch keeps working.
      const live = collect(s.read(runId, { startingAfter: 4, signal: never() }));
      await s.end(runId, { stopReason: 'end_turn', fallback: 'end_turn' });
      expect((await live).map(label)).toEqual(['stop:end_turn', 'END']);
    } finally {
      await s.close();
    }
  }, 30_000);

  it('several writer connections to one key: ids stay unique and gapless', async () => {
    const writers = await Promise.all(Array.from({ length: 5 }, () => RedisRunStream.connect({ url: server.url })));
    try {
      const runId = newId('run');
      const seqs = await Promise.all(
        writers.map(async (w, i) => {
          const mine: number[] = [];
          for (let n = 0; n < 100; n++) {
            const { positions } = await w.append(runId, [say(`${i}.${n}`), say(`${i}.${n}b`)]);
            expect(positions.map((p) => p.seq)).toEqual([positions[0]?.seq ?? 0, (positions[0]?.seq ?? 0) + 1]);
            mine.push(...positions.map((p) => p.seq));
          }
          return mine;
        }),
      );
      expect(seqs.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
      const epochs = new Set((await Promise.all(writers.map((w) => w.info(runId)))).map((i) => i?.head.epoch));
      expect(epochs.size).toBe(1);
      await writers[0]?.end(runId, { stopReason: 'end_turn', fallback: 'end_turn' });
      await expect(writers[1]?.append(runId, [say('late')])).rejects.toBeInstanceOf(Conflict);
      expect(await writers[2]?.end(runId, { stopReason: 'cancelled', fallback: 'cancelled' })).toEqual({
        positions: [],
        ended: false,
      });
    } finally {
      await Promise.all(writers.map((w) => w.close()));
    }
  });

  it('stores each entry as Letta-compatible fields under sse:run:{<runId>}, with id <seq>-0, a TTL, and the end marker <seq>-1', async () => {
    const s = await RedisRunStream.connect({ url: server.url, retentionMs: 60_000 });
    const raw = new Redis(server.url);
    try {
      const runId = newId('run');
      await s.append(runId, [say('hi'), { messageType: 'stop_reason', stopReason: 'end_turn' }], { end: true });
      const entries = (await raw.xrange(streamKey(runId), '-', '+')) as [string, string[]][];
      expect(entries.map(([id]) => id)).toEqual(['1-0', '2-0', '2-1']);
      const fields = Object.fromEntries(
        (entries[0]?.[1] ?? []).flatMap((v, i, all) => (i % 2 === 0 ? [[v, all[i + 1]]] : [])),
      ) as Record<string, string>;
      expect(fields).toMatchObject({ seq: '1', sr: '', data: '{"messageType":"assistant_message","content":"hi"}' });
      expect(fields.epoch).toMatch(/^[0-9a-z]+$/);
      expect(entries[2]?.[1]).toEqual(expect.arrayContaining(['end', '1']));
      const ttl = await raw.pttl(streamKey(runId));
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    } finally {
      raw.disconnect();
      await s.close();
    }
  });

  it('ONE Pub/Sub connection reads every run; a new run is live at once, no polling delay', async () => {
    const s = await RedisRunStream.connect({ url: server.url, checkMs: 10_000 });
    const raw = new Redis(server.url);
    try {
      const runs = Array.from({ length: 20 }, () => newId('run'));
      const ac = new AbortController();
      const readers = runs.map((runId) => collect(s.read(runId, { signal: ac.signal })));
      const deadline = Date.now() + 5000;
      while (s.stats().hubRuns < 20 && Date.now() < deadline) await sleep(5);
      expect(s.stats()).toEqual({ hubRuns: 20, readers: 20 });
      const clients = String(await raw.client('LIST'));
      const hub = clients.split('\n').filter((l) => l.includes('name=runtrace:streams:hub'));
      expect(hub.length).toBe(1);
      expect(hub[0]).toMatch(/ sub=20 /);
      // the hub listens to 20 runs (and checks them every 10 s); a 21st run's first event arrives within milliseconds
      await sleep(50);
      const late = newId('run');
      const seen: number[] = [];
      const t0 = Date.now();
      const reading = (async () => {
        for await (const item of s.read(late, { signal: ac.signal })) {
          if (item.kind === 'event') seen.push(Date.now() - t0);
        }
      })();
      while (s.stats().hubRuns < 21 && Date.now() < deadline) await sleep(1);
      await s.append(late, [say('now')]);
      while (seen.length === 0 && Date.now() - t0 < 5000) await sleep(1);
      expect(seen[0]).toBeLessThan(500);
      // latency of live delivery, append → reader
      const latencies: number[] = [];
      for (let i = 0; i < 50; i++) {
        const before = seen.length;
        const t = performance.now();
        await s.append(late, [say(String(i))]);
        while (seen.length === before) await new Promise((r) => setImmediate(r));
        latencies.push(performance.now() - t);
      }
      latencies.sort((a, b) => a - b);
      expect(latencies[Math.floor(latencies.length / 2)]).toBeLessThan(20);
      ac.abort();
      await Promise.all([...readers, reading]);
      while (s.stats().hubRuns > 0 && Date.now() < deadline + 5000) await sleep(5);
      expect(s.stats()).toEqual({ hubRuns: 0, readers: 0 });
    } finally {
      raw.disconnect();
      await s.close();
    }
  }, 30_000);

  it('a large append reaches live readers as a range notice read with XRANGE (in pages), in order with the small ones around it', async () => {
    const s = await RedisRunStream.connect({ url: server.url, hubCount: 2 });
    const raw = new Redis(server.url);
    try {
      const runId = newId('run');
      await s.append(runId, [say('first')]);
      const messages: string[] = [];
      raw.on('message', (_channel: string, message: string) => messages.push(message));
      await raw.subscribe(streamKey(runId));
      const reading = collect(s.read(runId, { startingAfter: 1, signal: never() }));
      while (s.stats().hubRuns < 1) await sleep(5);
      await sleep(20);
      const big = Array.from({ length: 5 }, (_, i) => say(`${i}:${'x'.repeat(20_000)}`));
      await s.append(runId, [say('small')]);
      await s.append(runId, big);
      await s.append(runId, [say('after')]);
      await s.end(runId, { stopReason: 'end_turn', fallback: 'end_turn' });
      const items = await reading;
      expect(items.map((i) => label(i).slice(0, 8))).toEqual([
        'say:smal',
        'say:0:xx',
        'say:1:xx',
        'say:2:xx',
        'say:3:xx',
        'say:4:xx',
        'say:afte',
        'stop:end',
        'END',
      ]);
      expect(items.flatMap((i) => (i.kind === 'event' ? [i.event.seqId] : []))).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
      // the raw subscriber is another connection: its copies of the last messages may still be in flight
      const deadline = Date.now() + 5000;
      while (messages.length < 5 && Date.now() < deadline) await sleep(5);
      await sleep(20);
      // entries inline, except the large append: one notice of its range
      expect(messages.filter((m) => m.startsWith('~ '))).toEqual(['~ 3-0 7-0']);
      expect(messages.length).toBe(1 + 1 + 1 + 2);
    } finally {
      raw.disconnect();
      await s.close();
    }
  });

  it('entries written without a message (a writer of an older version) reach live readers at the next check', async () => {
    const s = await RedisRunStream.connect({ url: server.url, checkMs: 200 });
    try {
      const runId = newId('run');
      const [first] = (await s.append(runId, [say('1')])).positions;
      const ac = new AbortController();
      const seen: string[] = [];
      const reading = (async () => {
        for await (const item of s.read(runId, { signal: ac.signal })) {
          seen.push(label(item));
          if (item.kind === 'end') return;
        }
      })();
      while (seen.length < 1) await sleep(5);
      const fields = (seq: number) => [
        'epoch',
        first?.epoch as string,
        'seq',
        String(seq),
        't',
        String(Date.now()),
        'sr',
        '',
      ];
      await s.client.xadd(streamKey(runId), '2-0', ...fields(2), 'data', JSON.stringify(say('2')));
      await s.client.xadd(streamKey(runId), '2-1', ...fields(2), 'end', '1');
      const t0 = Date.now();
      await reading;
      expect(seen).toEqual(['say:1', 'say:2', 'END']);
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      await s.close();
    }
  });

  it('a live reader whose key vanished learns it within the check interval, even while other runs keep the hub busy', async () => {
    const s = await RedisRunStream.connect({ url: server.url, checkMs: 300 });
    try {
      const quiet = newId('run');
      const busy = newId('run');
      await s.append(quiet, [say('1')]);
      const ac = new AbortController();
      const lost = guard(collect(s.read(quiet, { signal: ac.signal })));
      const busyReader = collect(s.read(busy, { signal: ac.signal }));
      let writing = true;
      const writer = (async () => {
        for (let i = 0; writing; i++) {
          await s.append(busy, [say(String(i))]);
          await sleep(20);
        }
      })();
      await sleep(100);
      await s.client.del(streamKey(quiet));
      const t0 = Date.now();
      await expect(lost).rejects.toBeInstanceOf(StreamLost);
      expect(Date.now() - t0).toBeLessThan(2000);
      writing = false;
      await writer;
      ac.abort();
      await busyReader;
    } finally {
      await s.close();
    }
  });

  it('runs.cancel while Redis is down: Unavailable and nothing changed; repeating it once Redis is back cancels and ends the stream', async () => {
    const [pglite] = databaseTargets();
    if (!pglite) throw new Error('no database target');
    const rt = await createTestRuntime(pglite, { REDIS_URL: server.url });
    try {
      const actor = await rt.auth.ensureDefaultActor();
      const run = await rt.runs.create(actor, { agentId: newId('agent'), background: true });
      await rt.streams.appendEvents(actor, { runId: run.id, events: [say('working')] });
      await server.stop();
      const refused = rt.runs.cancel(actor, { runId: run.id });
      await expect(refused).rejects.toBeInstanceOf(Unavailable);
      // the store, not the driver's words (those go to the log with the error's cause)
      await expect(refused).rejects.toThrow(/^Redis \(REDIS_URL\) is unavailable; retry later$/);
      // the stream could not end, so the status did not change: the retried cancel is the one that counts
      expect(await rt.runs.retrieve(actor, { runId: run.id })).toMatchObject({ status: 'created' });
      await expect(rt.streams.subscribe(actor, { runId: run.id, signal: never() })).rejects.toBeInstanceOf(Unavailable);
      await server.start();
      const until = Date.now() + 10_000;
      // As a client does with a 503: again, until Redis answers (each of the two connections reconnects on its own).
      const retried = async <T>(call: () => Promise<T>): Promise<T> => {
        for (;;) {
          try {
            return await call();
          } catch (err) {
            if (!(err instanceof Unavailable) || Date.now() > until) throw err;
            await sleep(50);
          }
        }
      };
      await retried(() => rt.runs.cancel(actor, { runId: run.id }));
      // The restart lost the events; the repeated cancel wrote the stop reason and the end in a new epoch.
      const items = await retried(async () =>
        collect(await rt.streams.subscribe(actor, { runId: run.id, signal: never() })),
      );
      expect(items.map(label)).toEqual(['stop:cancelled', 'END']);
    } finally {
      await rt.dispose();
    }
  }, 60_000);

  it('run changes cross processes over Pub/Sub, per organization; a lost connection fails subscribers (Unavailable)', async () => {
    const a = await RedisRunChangeFeed.connect({ url: server.url });
    const b = await RedisRunChangeFeed.connect({ url: server.url });
    try {
      const org = newId('organization');
      const otherOrg = newId('organization');
      const ac = new AbortController();
      const mine = await b.subscribe(org, ac.signal);
      const theirs = await b.subscribe(otherOrg, ac.signal);
      expect(b.stats()).toEqual({ channels: 2, subscribers: 2 });
      const change = (status: 'created' | 'running', organizationId = org): RunChange =>
        ({
          type: status === 'created' ? 'created' : 'updated',
          organizationId,
          previousStatus: status === 'created' ? null : 'created',
          run: { id: 'run-1', status },
        }) as unknown as RunChange;
      await a.publish(change('created'));
      await a.publish(change('running', otherOrg));
      await a.publish(change('running'));
      const got: RunChange[] = [];
      for await (const c of mine) {
        got.push(c);
        if (got.length === 2) break;
      }
      expect(got.map((c) => [c.organizationId, c.run.status])).toEqual([
        [org, 'created'],
        [org, 'running'],
      ]);
      for await (const c of theirs) {
        expect(c.organizationId).toBe(otherOrg);
        break;
      }
      ac.abort();
      expect(b.stats()).toEqual({ channels: 0, subscribers: 0 });
      // a subscriber learns when the connection is lost
      const ac2 = new AbortController();
      const waiting = guard(collectChanges(await b.subscribe(org, ac2.signal)));
      await server.stop();
      await expect(waiting).rejects.toBeInstanceOf(Unavailable);
      await expect(a.publish(change('created'))).rejects.toBeInstanceOf(Unavailable);
      await server.start();
      // once reconnected, subscribing again works
      const until = Date.now() + 10_000;
      let resubscribed: AsyncIterable<RunChange> | null = null;
      const ac3 = new AbortController();
      while (!resubscribed) {
        resubscribed = await b.subscribe(org, ac3.signal).catch((err: unknown) => {
          if (!(err instanceof Unavailable) || Date.now() > until) throw err;
          return null;
        });
        if (!resubscribed) await sleep(50);
      }
      for (;;) {
        const published = await a.publish(change('running')).then(
          () => true,
          (err: unknown) => {
            if (!(err instanceof Unavailable) || Date.now() > until) throw err;
            return false;
          },
        );
        if (published) break;
        await sleep(50);
      }
      for await (const c of resubscribed) {
        expect(c).toMatchObject({ organizationId: org, run: { status: 'running' } });
        break;
      }
      ac3.abort();
    } finally {
      await a.close();
      await b.close();
    }
  }, 30_000);
});

async function collectChanges(items: AsyncIterable<RunChange>): Promise<RunChange[]> {
  const out: RunChange[] = [];
  for await (const c of items) out.push(c);
  return out;
}
