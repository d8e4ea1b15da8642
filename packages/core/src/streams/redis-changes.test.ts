import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../ids.ts';
import { testConfig } from '../testing/index.ts';
import { RedisRunChangeFeed, runChangesChannel } from './redis-changes.ts';
import { change, reader, runChangeFeedContract } from './run-change-feed.contract.ts';
import type { RunChangeFeed } from './run-changes.ts';

const url = testConfig.redisUrl;
if (!url && testConfig.requireServices) {
  throw new Error('RUNTRACE_REQUIRE_SERVICES=1 but REDIS_URL is not set: the Redis run-change feed suites cannot run');
}

const held = (feed: RunChangeFeed): number => {
  if (!(feed instanceof RedisRunChangeFeed)) throw new Error('not the Redis feed');
  return feed.stats().subscribers;
};

if (url) {
  runChangeFeedContract('redis', {
    create: () => RedisRunChangeFeed.connect({ url }),
    // Its own connections, as another api process would have.
    peer: () => RedisRunChangeFeed.connect({ url }),
    held,
  });
}

describe.runIf(url)('Redis run-change feed', () => {
  let raw: Redis;
  let feed: RedisRunChangeFeed;
  beforeAll(async () => {
    raw = new Redis(url as string);
    feed = await RedisRunChangeFeed.connect({ url: url as string });
  });
  afterAll(async () => {
    await feed?.close();
    raw?.disconnect();
  });

  it('listens to one channel per organization while someone here subscribes to it, and leaves it after the last', async () => {
    const org = newId('organization');
    const channel = runChangesChannel(org);
    expect(channel).toBe(`runtrace:run-changes:${org}`);
    const listeners = async () => ((await raw.pubsub('NUMSUB', channel)) as [string, number])[1];
    const [a, b] = [new AbortController(), new AbortController()];
    await feed.subscribe(org, a.signal);
    await feed.subscribe(org, b.signal);
    expect(feed.stats()).toEqual({ channels: 1, subscribers: 2 });
    expect(await listeners()).toBe(1);
    a.abort();
    expect(await listeners()).toBe(1);
    b.abort();
    expect(feed.stats()).toEqual({ channels: 0, subscribers: 0 });
    const deadline = Date.now() + 5000;
    while ((await listeners()) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(await listeners()).toBe(0);
  });

  it('ignores a malformed message on an organization’s channel and delivers the next change', async () => {
    const org = newId('organization');
    const changes = reader(await feed.subscribe(org, new AbortController().signal));
    await raw.publish(runChangesChannel(org), '{not json');
    await raw.publish(runChangesChannel(org), JSON.stringify(change(org, 'after')));
    expect(await changes.take(1)).toEqual(['after']);
  });
});
