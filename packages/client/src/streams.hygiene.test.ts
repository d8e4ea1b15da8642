import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { databaseTargets, newId, streamTargets, testConfig } from '@runtrace/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type TestApi } from './testing/start-api.ts';
import { type SubscriberProcess, spawnSubscribers } from './testing/subscriber-process.ts';
import { sleep, until } from './testing/streams.ts';

/**
 * Resource hygiene of subscriptions. The api runs in this process (its heap is measured after a forced GC: this file
 * runs in a project of its own with --expose-gc, see vitest.config.ts, after every other file so that the Redis
 * connection count is not disturbed by other suites); the 1,000 subscribers run in a child process.
 */
const SUBSCRIBERS = 1000;
const ROUNDS = 4;
const BACKLOG = 5;
/** Heap growth allowed after ROUNDS × SUBSCRIBERS subscriptions: about 1 KiB kept per subscription would exceed it. */
const HEAP_TOLERANCE = 4 * 1024 * 1024;

const gc = (globalThis as { gc?: () => void }).gc;

async function heapAfterGc(): Promise<number> {
  if (!gc) throw new Error('run this file with --expose-gc (vitest.config.ts gives its project execArgv)');
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(50);
  }
  return process.memoryUsage().heapUsed;
}

/**
 * This process's open TCP connections to `port` (Linux /proc): the api's Redis connections, whatever other processes
 * (other suites, other api processes) hold on the same server. Null where /proc is unavailable.
 */
function ownConnectionsTo(port: number): number | null {
  let inodes: Set<string>;
  try {
    inodes = new Set(
      readdirSync('/proc/self/fd').flatMap((fd) => {
        try {
          const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
          return m?.[1] ? [m[1]] : [];
        } catch {
          return [];
        }
      }),
    );
  } catch {
    return null;
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const table of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address rem_address st … inode (field 9); state 01 = ESTABLISHED
      if (f.length > 9 && f[2]?.endsWith(`:${hexPort}`) && f[3] === '01' && inodes.has(f[9] as string)) count++;
    }
  }
  return count;
}

/** Readers the api's stream store holds (in-process broker: readers waiting for events; Redis: hub listeners). */
function readersOf(api: TestApi): number {
  const stats = (api.runtime.streams.stream as unknown as { stats?: () => Record<string, number> }).stats?.();
  if (!stats) throw new Error('the stream store reports no stats');
  return stats.waitingReaders ?? stats.readers ?? Number.NaN;
}

describe.each(streamTargets())('1,000 subscribers connecting and leaving ($name)', (target) => {
  let api: TestApi;
  let subscribers: SubscriberProcess;
  let runId: string;
  const redisPort = testConfig.redisUrl ? Number(new URL(testConfig.redisUrl).port || 6379) : 6379;
  /** The api's connections to Redis (this process's; the subscribers run elsewhere and never touch Redis). */
  const redisClients = async () => (target.name === 'redis' ? (ownConnectionsTo(redisPort) ?? Number.NaN) : 0);

  beforeAll(async () => {
    api = await startApi(databaseTargets()[0] as ReturnType<typeof databaseTargets>[number], target.env);
    subscribers = spawnSubscribers();
    const client = api.client();
    runId = (await client.runs.create.mutate({ agentId: newId('agent'), background: true })).id;
    await client.runs.appendEvents.mutate({
      runId,
      events: Array.from({ length: BACKLOG }, (_, i) => ({
        messageType: 'assistant_message' as const,
        id: 'm',
        content: String(i),
      })),
    });
  });
  afterAll(async () => {
    await subscribers?.stop();
    await api?.close();
  });

  /**
   * SUBSCRIBERS subscribe, read the backlog and wait live; one leaves (how long until the server released its reader
   * is returned), then the others.
   */
  const round = async () => {
    await subscribers.connect(api.url, runId, SUBSCRIBERS, BACKLOG);
    await until('every reader to wait for live events', () => readersOf(api) === SUBSCRIBERS, 10_000);
    expect(api.openStreams()).toBe(SUBSCRIBERS);
    const t0 = performance.now();
    await subscribers.leave(1);
    await until('the server to release the reader', () => readersOf(api) === SUBSCRIBERS - 1, 5000);
    const releaseMs = performance.now() - t0;
    await subscribers.leave(SUBSCRIBERS - 1);
    await until('the server to release every reader', () => api.openStreams() === 0 && readersOf(api) === 0, 10_000);
    // The harness's own record of SSE requests would otherwise count as growth.
    api.sseRequests.length = 0;
    return releaseMs;
  };

  it(`leaves no growth in Redis connections or the api's heap after ${ROUNDS} rounds of ${SUBSCRIBERS} subscribers`, async () => {
    // Warm-up: JIT, connection pools, the hub's connections.
    for (let i = 0; i < 2; i++) await round();
    const heap0 = await heapAfterGc();
    const clients0 = await redisClients();
    const releaseMs: number[] = [];
    for (let i = 0; i < ROUNDS; i++) releaseMs.push(await round());
    const heap1 = await heapAfterGc();
    const clients1 = await redisClients();
    console.log(
      `${target.name}: api heap ${(heap0 / 2 ** 20).toFixed(1)} → ${(heap1 / 2 ** 20).toFixed(1)} MiB after ${ROUNDS * SUBSCRIBERS} subscriptions; ` +
        `Redis clients ${clients0} → ${clients1}; a leaving subscriber's reader released after ${releaseMs.map((ms) => ms.toFixed(1)).join(', ')} ms`,
    );
    if (target.name === 'redis') expect(clients0).toBeGreaterThan(0);
    expect(clients1).toBe(clients0);
    expect(heap1 - heap0).toBeLessThan(HEAP_TOLERANCE);
    // Leaving releases the reader at once, while 999 others stay.
    expect(Math.max(...releaseMs)).toBeLessThan(1000);
  });
});
