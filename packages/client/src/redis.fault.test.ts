import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hasRedisServer, newId, PrivateRedis, testConfig } from '@runtrace/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntraceClient, type RuntraceClient } from './create-runtrace-client.ts';
import { isTRPCClientError } from './errors.ts';
import { type ApiProcess, spawnApi } from './testing/api-process.ts';
import { codeOf, sleep, until, type StreamWatch, watchStream } from './testing/streams.ts';

/**
 * The fault suite's Redis rows: an api process on a redis-server of the test's own, killed with -9 in the middle of
 * background runs being produced and followed, then restarted on the same port (never the shared Redis).
 */
if (!hasRedisServer() && testConfig.requireServices) {
  throw new Error('RUNTRACE_REQUIRE_SERVICES=1 but redis-server is not on PATH: the Redis fault suite cannot run');
}

/** What a caller is told while Redis is down: the store and what to do, never the driver's words. */
const REDIS_DOWN = 'Redis (REDIS_URL) is unavailable; retry later';
/** ioredis's and Node's own words, which must stay in the log. */
const DRIVER_WORDS = /writeable|enableOfflineQueue|ECONNREFUSED|ECONNRESET|Connection is closed|ioredis|max retries/i;
/** The longest any call may take to answer while Redis is down (CONTRACTS §2: bounded time). */
const OUTAGE_ANSWER_MS = 3000;
const RECONNECT_MS = 50;

interface Started {
  redis: PrivateRedis;
  api: ApiProcess;
  client: RuntraceClient;
  dataDir: string;
}

let started: Started | null = null;
afterEach(async () => {
  const s = started;
  started = null;
  await s?.api.stop();
  await s?.redis.dispose();
  if (s) await rm(s.dataDir, { recursive: true, force: true });
});

async function start(persistence: boolean): Promise<Started> {
  const redis = await PrivateRedis.create({ persistence });
  const dataDir = await mkdtemp(path.join(tmpdir(), 'runtrace-redis-fault-'));
  const api = await spawnApi({ RUNTRACE_DATA_DIR: dataDir, REDIS_URL: redis.url }, { startTimeoutMs: 180_000 });
  const client = createRuntraceClient({ url: api.url, reconnectDelayMs: RECONNECT_MS });
  started = { redis, api, client, dataDir };
  return started;
}

async function post(url: string, body: unknown): Promise<{ status: number; retryAfter: string | null; json: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), json: await res.json().catch(() => null) };
}

/** Retries `call` while it answers SERVICE_UNAVAILABLE, up to `ms`; the time it took to succeed. */
async function untilAvailable<T>(
  what: string,
  call: () => Promise<T>,
  ms = 20_000,
): Promise<{ value: T; tookMs: number }> {
  const t0 = Date.now();
  for (;;) {
    try {
      return { value: await call(), tookMs: Date.now() - t0 };
    } catch (err) {
      const code = isTRPCClientError(err) ? (err.data as { code?: string } | undefined)?.code : undefined;
      if (code !== 'SERVICE_UNAVAILABLE' || Date.now() - t0 > ms)
        throw new Error(`${what}: ${String(err)}`, { cause: err });
      await sleep(50);
    }
  }
}

/**
 * Defect 14c: while Redis is down, a tRPC call and a REST call answer 503 naming the store, never the driver's words
 * (ioredis's "Stream isn't writeable and enableOfflineQueue options is false"); those go to the api's log.
 */
async function expectOutageAnswers(api: ApiProcess, runId: string): Promise<void> {
  const t0 = Date.now();
  const trpc = await post(`${api.url}/trpc/runs.appendEvents`, {
    runId,
    events: [{ messageType: 'assistant_message', content: 'during the outage' }],
  });
  const rest = await post(`${api.url}/v1/runs/${runId}/stream`, {});
  expect(Date.now() - t0).toBeLessThan(2 * OUTAGE_ANSWER_MS);
  expect(trpc.status).toBe(503);
  expect(trpc.json).toMatchObject({ error: { message: REDIS_DOWN, data: { code: 'SERVICE_UNAVAILABLE' } } });
  expect(JSON.stringify(trpc.json)).not.toMatch(DRIVER_WORDS);
  expect([rest.status, rest.json]).toEqual([503, { detail: REDIS_DOWN }]);
  // the operator's log has it, with the driver's error as `err`
  await until('the outage in the log', () => api.output().includes(REDIS_DOWN));
  expect(api.output()).toMatch(
    /"level":40[^\n]*"err":\{[^\n]*"message":"[^"]+"[^\n]*Redis \(REDIS_URL\) is unavailable; retry later/,
  );
}

describe.runIf(hasRedisServer())('Redis down under an api process', { timeout: 300_000 }, () => {
  for (const persistence of [false, true]) {
    const fault = persistence ? 'redis killed (persistence: appendonly)' : 'redis killed (no persistence)';
    it(`${fault}: producers get 503 naming the store in bounded time, subscribers the documented error, everything recovers by itself`, async () => {
      const { redis, api, client } = await start(persistence);
      const RUNS = 6;
      const runs = await Promise.all(
        Array.from({ length: RUNS }, () => client.runs.create.mutate({ agentId: newId('agent'), background: true })),
      );
      const watchers: StreamWatch[] = runs.map((run) => watchStream(client, { runId: run.id }));
      await until('the subscriptions to start', () => watchers.every((w) => w.started > 0));

      type Phase = 'before' | 'outage' | 'after';
      let phase: Phase = 'before';
      let producing = true;
      const sent = { before: 0, outage: 0, after: 0 };
      /** Per run: the contents the api acknowledged (gave ids for), with the phase they were sent in. */
      const acked = runs.map(() => new Map<string, Phase>());
      const refusals: { code: string | undefined; message: string; ms: number }[] = [];
      const producers = runs.map(async (run, r) => {
        for (let n = 0; producing; n++) {
          const content = `${r}.${n}`;
          const at = phase;
          sent[at] += 1;
          const t0 = Date.now();
          try {
            await client.runs.appendEvents.mutate({
              runId: run.id,
              events: [{ messageType: 'assistant_message', content }],
            });
            acked[r]?.set(content, at);
          } catch (err) {
            if (!isTRPCClientError(err)) throw err;
            refusals.push({
              code: (err.data as { code?: string } | undefined)?.code,
              message: err.message,
              ms: Date.now() - t0,
            });
          }
          await sleep(10);
        }
      });

      await sleep(800);
      phase = 'outage';
      await redis.stop();
      const outageAt = Date.now();
      await expectOutageAnswers(api, runs[0]?.id as string);
      await sleep(Math.max(0, 1500 - (Date.now() - outageAt)));
      await redis.start();
      phase = 'after';
      const restartedAt = Date.now();
      // recovery by itself: every producer gets an append through again, without any restart of the api
      await until(
        'every producer to be acknowledged after the restart',
        () => acked.every((m) => [...m.values()].includes('after')),
        20_000,
      );
      const recoveredMs = Date.now() - restartedAt;
      await sleep(300);
      producing = false;
      await Promise.all(producers);
      for (const run of runs) {
        await untilAvailable('the end', () =>
          client.runs.appendEvents.mutate({
            runId: run.id,
            events: [{ messageType: 'stop_reason', stopReason: 'end_turn' }],
            end: true,
          }),
        );
      }
      await Promise.all(watchers.map((w) => Promise.race([w.done, sleep(15_000)])));

      // producers: only SERVICE_UNAVAILABLE, naming the store, each within the bound
      expect(refusals.length).toBeGreaterThan(0);
      expect(new Set(refusals.map((x) => x.code))).toEqual(new Set(['SERVICE_UNAVAILABLE']));
      expect(new Set(refusals.map((x) => x.message))).toEqual(new Set([REDIS_DOWN]));
      const slowest = Math.max(...refusals.map((x) => x.ms));
      expect(slowest).toBeLessThan(OUTAGE_ANSWER_MS);

      // what is readable now, from the start of each run's stream
      const reads = runs.map((run) => watchStream(client, { runId: run.id }));
      await Promise.all(reads.map((w) => w.done));
      let written = 0;
      let lost = 0;
      let unackedButStored = 0;
      let lostReported = 0;
      runs.forEach((_, r) => {
        const read = reads[r] as StreamWatch;
        const watcher = watchers[r] as StreamWatch;
        const mine = acked[r] as Map<string, Phase>;
        expect(read.error).toBeNull();
        expect(read.completed).toBe(true);
        const contents = read
          .events()
          .flatMap((e) => (e.data.messageType === 'assistant_message' ? [String(e.data.content)] : []));
        expect(new Set(contents).size).toBe(contents.length); // nothing twice
        const readable = new Set(contents);
        written += mine.size;
        const missing = [...mine.keys()].filter((c) => !readable.has(c));
        lost += missing.length;
        unackedButStored += contents.filter((c) => !mine.has(c)).length;
        // exactly one stop reason, then the end
        expect(read.events().filter((e) => e.data.messageType === 'stop_reason')).toHaveLength(1);
        expect(read.events().at(-1)?.data).toMatchObject({ messageType: 'stop_reason', stopReason: 'end_turn' });
        if (persistence) {
          // kept: everything acknowledged is readable; the subscriber resumed across the outage and saw it all once
          expect(missing).toEqual([]);
          expect(watcher.error).toBeNull();
          expect(watcher.completed).toBe(true);
          expect(watcher.reconnects).toBeGreaterThanOrEqual(1);
          const seen = watcher.events().map((e) => e.id);
          expect(new Set(seen).size).toBe(seen.length);
          expect(seen).toEqual(read.events().map((e) => e.id));
        } else {
          // lost, and said so: what was acknowledged before the kill is gone, what came after is all there, and the
          // subscriber holding a cursor of the lost stream got NOT_FOUND "lost", never silence
          expect(missing.every((c) => mine.get(c) !== 'after')).toBe(true);
          if (missing.length > 0) {
            expect(codeOf(watcher.error)).toBe('NOT_FOUND');
            expect(watcher.error?.message).toMatch(/was lost/);
            lostReported += missing.length;
          }
        }
      });
      if (!persistence) {
        expect(lost).toBeGreaterThan(0);
        expect(lostReported).toBe(lost);
      } else {
        expect(lost).toBe(0);
      }
      // an append whose answer was lost with the connection may have been stored: at most one per producer
      expect(unackedButStored).toBeLessThanOrEqual(RUNS);
      const total = sent.before + sent.outage + sent.after;
      console.log(
        `fault-table | ${fault} | sent ${total} | written ${written} | counted lost ${lost} | ` +
          `producers: ${refusals.length} × 503 SERVICE_UNAVAILABLE "${REDIS_DOWN}" (slowest ${slowest} ms), ` +
          `${unackedButStored} refused but stored; subscribers: ` +
          (persistence
            ? `${watchers.filter((w) => w.completed && !w.error).length}/${RUNS} resumed across the outage, nothing missed or repeated`
            : `${watchers.filter((w) => codeOf(w.error) === 'NOT_FOUND').length}/${RUNS} NOT_FOUND "stream was lost"`) +
          `; recovered ${recoveredMs} ms after the restart`,
      );
    });
  }
});
