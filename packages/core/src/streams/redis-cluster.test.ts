import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadApiConfig } from '../config.ts';
import { newId } from '../ids.ts';
import { createLogger } from '../logger.ts';
import { freeTcpPort } from '../testing/free-tcp-port.ts';
import { redisStreamTarget, testConfig } from '../testing/index.ts';
import { hasRedisServer } from '../testing/private-redis.ts';
import { createStreamStores } from './factory.ts';
import { RedisRunChangeFeed } from './redis-changes.ts';
import { RedisRunStream } from './redis-run-stream.ts';
import { type ScriptCommands, STREAM_WRITE_LUA, streamKey } from './redis-scripts.ts';
import { runChangeFeedContract } from './run-change-feed.contract.ts';
import { runStreamContract, say } from './run-stream.contract.ts';

/**
 * Run streams and run changes on a real 3-master Redis Cluster (private redis-servers on free ports, never the shared
 * one), through the stores with RUNTRACE_REDIS_CLUSTER's switch: the same contract suites as on one Redis. A run's key
 * carries the run id as hash tag, so the Lua write — which only touches that key — runs on the key's master, and its
 * PUBLISH reaches a subscriber connected to any node.
 */

if (!hasRedisServer() && testConfig.requireServices) {
  throw new Error('RUNTRACE_REQUIRE_SERVICES=1 but redis-server is not on PATH: the Redis Cluster test cannot run');
}

/** Three cluster-enabled redis-servers joined by `redis-cli --cluster create` (no replicas). */
class PrivateRedisCluster {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'runtrace-redis-cluster-'));
  readonly #children: ChildProcess[] = [];
  readonly ports: number[] = [];

  async start(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      const port = await freeTcpPort();
      const dir = path.join(this.dir, String(port));
      execFileSync('mkdir', ['-p', dir]);
      // biome-ignore format: one flag per pair reads better
      const child = spawn('redis-server', [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
        '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000',
      ], { stdio: 'ignore' });
      process.once('exit', () => child.kill('SIGKILL'));
      this.#children.push(child);
      this.ports.push(port);
    }
    for (const port of this.ports) await this.#waitFor(port, async (r) => (await r.ping()) === 'PONG');
    execFileSync(
      'redis-cli',
      ['--cluster', 'create', ...this.ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      { stdio: 'ignore', timeout: 20_000 },
    );
    for (const port of this.ports) {
      await this.#waitFor(port, async (r) => String(await r.call('CLUSTER', 'INFO')).includes('cluster_state:ok'));
    }
  }

  async #waitFor(port: number, ready: (r: Redis) => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => {});
      try {
        await r.connect();
        if (await ready(r)) return;
      } catch {
        // not up yet
      } finally {
        r.disconnect();
      }
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} not ready`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  client(): Cluster {
    return new Cluster(
      this.ports.map((port) => ({ host: '127.0.0.1', port })),
      { redisOptions: { maxRetriesPerRequest: 0 } },
    );
  }

  async dispose(): Promise<void> {
    await Promise.all(
      this.#children.map((child) =>
        child.exitCode !== null || child.signalCode !== null
          ? undefined
          : new Promise((resolve) => {
              child.once('exit', resolve);
              child.kill('SIGKILL');
            }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const cluster = new PrivateRedisCluster();
/** Any one node: the stores discover the rest. */
const seed = () => `redis://127.0.0.1:${cluster.ports[1]}`;
if (hasRedisServer()) {
  beforeAll(() => cluster.start(), 60_000);
  afterAll(() => cluster.dispose());

  // created lazily: the cluster's ports are known once beforeAll has started it
  runStreamContract('redis cluster', {
    create: (options) => redisStreamTarget(seed(), true).create(options),
    lose: (stream, runId) => redisStreamTarget(seed(), true).lose(stream, runId),
    held: (stream) => redisStreamTarget(seed(), true).held(stream),
  });
  runChangeFeedContract('redis cluster', {
    create: () => RedisRunChangeFeed.connect({ url: seed(), cluster: true }),
    peer: () => RedisRunChangeFeed.connect({ url: seed(), cluster: true }),
    held: (feed) => {
      if (!(feed instanceof RedisRunChangeFeed)) throw new Error('not the Redis feed');
      return feed.stats().subscribers;
    },
  });
}

describe.runIf(hasRedisServer())('run streams on a 3-master Redis Cluster', () => {
  it('RUNTRACE_REDIS_CLUSTER=1 makes the configured stores talk to the cluster through REDIS_URL, any one node', async () => {
    const config = loadApiConfig({ REDIS_URL: seed(), RUNTRACE_REDIS_CLUSTER: '1' });
    const { stream, changes } = await createStreamStores(config, createLogger('silent'));
    try {
      expect(stream instanceof RedisRunStream && stream.client instanceof Cluster).toBe(true);
      const runId = newId('run');
      await stream.append(runId, [say('hi')]);
      const node = new Redis(cluster.ports[2] as number, '127.0.0.1');
      try {
        // the entry is on the master owning the run's slot, whichever node REDIS_URL named
        const slot = Number(await node.call('CLUSTER', 'KEYSLOT', streamKey(runId)));
        const owner = ((await node.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][]).find(
          ([from, to]) => slot >= from && slot <= to,
        );
        const direct = new Redis(owner?.[2][1] as number, '127.0.0.1');
        expect(await direct.xlen(streamKey(runId))).toBe(1);
        direct.disconnect();
      } finally {
        node.disconnect();
      }
    } finally {
      await stream.close();
      await changes.close();
    }
  });

  it('a seed node that does not answer fails start-up at once, naming REDIS_URL', async () => {
    const t0 = Date.now();
    const url = `redis://127.0.0.1:${await freeTcpPort()}`;
    await expect(RedisRunStream.connect({ url, cluster: true, connectTimeoutMs: 500 })).rejects.toThrow(/REDIS_URL/);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  let cmd: Cluster & ScriptCommands;
  let sub: Cluster;

  beforeAll(async () => {
    cmd = cluster.client() as Cluster & ScriptCommands;
    cmd.defineCommand('runtraceStreamWrite', { numberOfKeys: 1, lua: STREAM_WRITE_LUA });
    sub = cluster.client();
  });
  afterAll(() => {
    cmd?.disconnect();
    sub?.disconnect();
  });

  it('every key of a run hashes to the slot of its run id (the hash tag), and runs spread over all masters', async () => {
    const node = new Redis(cluster.ports[0] as number, '127.0.0.1');
    try {
      const masters = new Set<string>();
      const slots = (await node.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
      for (let i = 0; i < 30; i++) {
        const runId = newId('run');
        const slot = Number(await node.call('CLUSTER', 'KEYSLOT', streamKey(runId)));
        expect(slot).toBe(Number(await node.call('CLUSTER', 'KEYSLOT', runId)));
        const owner = slots.find(([from, to]) => slot >= from && slot <= to);
        masters.add(String(owner?.[2][1]));
      }
      expect(masters.size).toBe(3);
    } finally {
      node.disconnect();
    }
  });

  it('the Lua write appends, publishes, ends and refuses an append after the end, on whichever master owns the run', async () => {
    const runs = Array.from({ length: 6 }, () => newId('run'));
    const received = new Map<string, string[]>();
    sub.on('message', (channel: string, message: string) => {
      received.set(channel, [...(received.get(channel) ?? []), message]);
    });
    await sub.subscribe(...runs.map(streamKey));
    const event = (text: string) => JSON.stringify({ messageType: 'assistant_message', content: text });
    const stop = JSON.stringify({ messageType: 'stop_reason', stopReason: 'end_turn' });
    for (const runId of runs) {
      const key = streamKey(runId);
      const [epoch, first, count, ended] = await cmd.runtraceStreamWrite(
        key,
        'a',
        1000,
        60_000,
        '0',
        '',
        '',
        event('1'),
        '',
        event('2'),
        '',
      );
      expect([first, count, ended]).toEqual([1, 2, 0]);
      expect(await cmd.runtraceStreamWrite(key, 'e', 1000, 60_000, 'end_turn', 'error', stop, event('3'), '')).toEqual([
        epoch,
        3,
        2,
        1,
      ]);
      await expect(cmd.runtraceStreamWrite(key, 'a', 1000, 60_000, '0', '', '', event('4'), '')).rejects.toThrow(
        /RUNTRACE_ENDED/,
      );
      const entries = (await cmd.xrange(key, '-', '+')) as [string, string[]][];
      expect(entries.map(([id]) => id)).toEqual(['1-0', '2-0', '3-0', '4-0', '4-1']);
      expect(await cmd.pttl(key)).toBeGreaterThan(50_000);
      // resuming after 2-0 (exclusive start), as a reader with a cursor does
      const after = (await cmd.xrange(key, '(2-0', '+')) as [string, string[]][];
      expect(after.map(([id]) => id)).toEqual(['3-0', '4-0', '4-1']);
    }
    const deadline = Date.now() + 5000;
    while (runs.some((r) => (received.get(streamKey(r))?.length ?? 0) < 5) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const runId of runs) {
      const messages = received.get(streamKey(runId)) ?? [];
      expect(messages.map((m) => m.split(' ')[0])).toEqual(['1-0', '2-0', '3-0', '4-0', '4-1']);
    }
  });
});
