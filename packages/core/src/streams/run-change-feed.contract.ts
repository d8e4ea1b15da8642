/**
 * The ONE behavioural suite every RunChangeFeed implementation passes (run-changes.test.ts, redis-changes.test.ts),
 * as run-stream.contract.ts is for the run-stream stores. Every test uses fresh organization ids, so a shared Redis
 * is fine.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Unavailable } from '../errors.ts';
import { newId } from '../ids.ts';
import type { RunChange } from '../runs/run-manager.ts';
import { MAX_PENDING_CHANGES } from './change-queue.ts';
import type { RunChangeFeed } from './run-changes.ts';

export interface RunChangeFeedContractOptions {
  /** A fresh feed (closed by the suite). */
  create(): Promise<RunChangeFeed>;
  /**
   * Another feed reaching the subscribers of `feed`, as another process would (Redis: a second pair of connections);
   * the in-process feed has no other process, so it gives `feed` itself. Closed by the suite.
   */
  peer(feed: RunChangeFeed): Promise<RunChangeFeed>;
  /** Subscriptions the feed holds open in this process. */
  held(feed: RunChangeFeed): number;
}

/** A change of `organizationId`, told apart by its run id. */
export function change(organizationId: string, runId: string, type: RunChange['type'] = 'updated'): RunChange {
  return { type, organizationId, previousStatus: null, run: { id: runId, status: 'running' } } as unknown as RunChange;
}

/** Pulls a subscription's messages one at a time, failing (not hanging) when one does not come in time. */
export function topicReader<T = unknown>(messages: AsyncIterable<T>) {
  const it = messages[Symbol.asyncIterator]();
  const next = async (ms = 5000): Promise<IteratorResult<T>> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`nothing delivered within ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([it.next(), late]);
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    next,
    /** The next `n` messages. */
    async take(n: number): Promise<T[]> {
      const got: T[] = [];
      while (got.length < n) {
        const r = await next();
        if (r.done) throw new Error(`the subscription ended after ${got.length} of ${n} messages`);
        got.push(r.value);
      }
      return got;
    },
  };
}

/** Pulls changes one at a time ({@link topicReader}); `take` gives their run ids. */
export function reader(changes: AsyncIterable<RunChange>) {
  const r = topicReader(changes);
  return { next: r.next, take: async (n: number) => (await r.take(n)).map((c) => c.run.id) };
}

const never = () => new AbortController().signal;

export function runChangeFeedContract(name: string, options: RunChangeFeedContractOptions): void {
  describe(`RunChangeFeed contract: ${name}`, () => {
    const open = new Set<RunChangeFeed>();
    afterEach(async () => {
      for (const feed of open) await feed.close();
      open.clear();
    });
    /** A subscribing feed and the feed publishing to it (another process, where the feed has one). */
    const pair = async (): Promise<{ sub: RunChangeFeed; pub: RunChangeFeed }> => {
      const sub = await options.create();
      open.add(sub);
      const pub = await options.peer(sub);
      open.add(pub);
      return { sub, pub };
    };

    it('delivers the changes published after subscribe resolved, in publish order, awaited or not', async () => {
      const { sub, pub } = await pair();
      const org = newId('organization');
      const changes = reader(await sub.subscribe(org, never()));
      const ids = Array.from({ length: 50 }, (_, i) => `run-${i}`);
      for (const id of ids.slice(0, 25)) await pub.publish(change(org, id));
      await Promise.all(ids.slice(25).map((id) => pub.publish(change(org, id))));
      expect(await changes.take(50)).toEqual(ids);
    });

    it('is not durable: a change published before the subscription is not delivered', async () => {
      const { sub, pub } = await pair();
      const org = newId('organization');
      // A change is sure to have reached the subscribing side only once someone there received it: on a Redis
      // Cluster the PUBLISH is acknowledged by one node and crosses the cluster bus afterwards, so a change published
      // just before a SUBSCRIBE on another node may still arrive after it. The first subscriber receives it and
      // leaves (the channel is unsubscribed), then a new subscription must not be given it again.
      const leaving = new AbortController();
      const earlier = reader(await sub.subscribe(org, leaving.signal));
      await pub.publish(change(org, 'before'));
      expect(await earlier.take(1)).toEqual(['before']);
      leaving.abort();
      const changes = reader(await sub.subscribe(org, never()));
      await pub.publish(change(org, 'after'));
      expect(await changes.take(1)).toEqual(['after']);
    });

    it('keeps organizations apart: a subscriber gets its organization’s changes only', async () => {
      const { sub, pub } = await pair();
      const [a, b] = [newId('organization'), newId('organization')];
      const ofA = reader(await sub.subscribe(a, never()));
      const ofB = reader(await sub.subscribe(b, never()));
      for (const [org, id] of [
        [a, 'a1'],
        [b, 'b1'],
        [a, 'a2'],
        [b, 'b2'],
        [a, 'a3'],
      ] as const) {
        await pub.publish(change(org, id));
      }
      expect(await ofA.take(3)).toEqual(['a1', 'a2', 'a3']);
      // Had a change of A reached B, it would come before this one.
      await pub.publish(change(b, 'b3'));
      expect(await ofB.take(3)).toEqual(['b1', 'b2', 'b3']);
    });

    it('delivers every change to each of several subscribers, on the subscribing feed and on the publishing one', async () => {
      const { sub, pub } = await pair();
      const org = newId('organization');
      const readers = [];
      for (let i = 0; i < 3; i++) readers.push(reader(await sub.subscribe(org, never())));
      readers.push(reader(await pub.subscribe(org, never())));
      const ids = ['r1', 'r2', 'r3', 'r4', 'r5'];
      for (const id of ids) await pub.publish(change(org, id));
      for (const r of readers) expect(await r.take(ids.length)).toEqual(ids);
    });

    it('unsubscribing (abort) ends that subscription and frees it; the other subscribers keep theirs', async () => {
      const { sub, pub } = await pair();
      const org = newId('organization');
      const leaving = new AbortController();
      const gone = reader(await sub.subscribe(org, leaving.signal));
      const stays = reader(await sub.subscribe(org, never()));
      expect(options.held(sub)).toBe(2);
      await pub.publish(change(org, 'c1'));
      expect(await gone.take(1)).toEqual(['c1']);
      expect(await stays.take(1)).toEqual(['c1']);
      leaving.abort();
      expect(options.held(sub)).toBe(1);
      await pub.publish(change(org, 'c2'));
      expect(await stays.take(1)).toEqual(['c2']);
      expect((await gone.next()).done).toBe(true);
    });

    it('frees a subscription aborted before anyone iterates it, and an already aborted signal gives an empty one', async () => {
      const { sub, pub } = await pair();
      const org = newId('organization');
      const ac = new AbortController();
      await sub.subscribe(org, ac.signal);
      expect(options.held(sub)).toBe(1);
      ac.abort();
      expect(options.held(sub)).toBe(0);
      const aborted = reader(await sub.subscribe(org, AbortSignal.abort()));
      expect(options.held(sub)).toBe(0);
      await pub.publish(change(org, 'ignored'));
      expect((await aborted.next()).done).toBe(true);
    });

    it('close fails open subscriptions with Unavailable and refuses new ones', async () => {
      const sub = await options.create();
      open.add(sub);
      const org = newId('organization');
      const waiting = reader(await sub.subscribe(org, never())).next();
      waiting.catch(() => {});
      await sub.close();
      await expect(waiting).rejects.toBeInstanceOf(Unavailable);
      await expect(sub.subscribe(org, never())).rejects.toBeInstanceOf(Unavailable);
      expect(options.held(sub)).toBe(0);
    });

    it('delivers a topic’s messages (JSON values) to its subscribers on both feeds, in order; not other topics’, not run changes', async () => {
      const { sub, pub } = await pair();
      const org = newId('organization');
      const [t1, t2] = [`test:${newId('organization')}`, `test:${newId('organization')}`];
      const here = (await sub.subscribe(org, never()))[Symbol.asyncIterator]();
      const one = topicReader(await sub.subscribeTopic(t1, never()));
      const onPub = topicReader(await pub.subscribeTopic(t1, never()));
      const two = topicReader(await sub.subscribeTopic(t2, never()));
      const messages = [
        { n: 1, spans: [{ spanId: 'a' }] },
        { n: 2, spans: [] },
        { n: 3, text: 'é\u2028' },
      ];
      await pub.publishTopic(t2, { n: 'other' });
      for (const m of messages) await pub.publishTopic(t1, m);
      // Nor does a topic named like an organization reach its run-change subscribers.
      await pub.publishTopic(org, { n: 'not a change' });
      await pub.publish(change(org, 'the change'));
      expect(await one.take(3)).toEqual(messages);
      expect(await onPub.take(3)).toEqual(messages);
      expect(await two.take(1)).toEqual([{ n: 'other' }]);
      expect(((await here.next()).value as RunChange).run.id).toBe('the change');
      await pub.publishTopic(t1, { n: 4 });
      expect(await one.take(1)).toEqual([{ n: 4 }]);
    });

    it('a topic subscription is live only, ends on abort and is freed; close fails it with Unavailable', async () => {
      const { sub, pub } = await pair();
      const topic = `test:${newId('organization')}`;
      await pub.publishTopic(topic, 'before');
      const ac = new AbortController();
      const leaving = topicReader(await sub.subscribeTopic(topic, ac.signal));
      const staying = topicReader(await sub.subscribeTopic(topic, never()));
      expect(options.held(sub)).toBe(2);
      await pub.publishTopic(topic, 'after');
      expect(await leaving.take(1)).toEqual(['after']);
      ac.abort();
      expect(options.held(sub)).toBe(1);
      expect((await leaving.next()).done).toBe(true);
      expect(await staying.take(1)).toEqual(['after']);
      const waiting = staying.next();
      waiting.catch(() => {});
      await sub.close();
      await expect(waiting).rejects.toBeInstanceOf(Unavailable);
      await expect(sub.subscribeTopic(topic, never())).rejects.toBeInstanceOf(Unavailable);
    });

    it(`drops a subscriber ${MAX_PENDING_CHANGES} changes behind with Unavailable, after what it holds; not the others`, async () => {
      const { sub, pub } = await pair();
      const org = newId('organization');
      const fast = reader(await sub.subscribe(org, never()));
      const slow = (await sub.subscribe(org, never()))[Symbol.asyncIterator]();
      const ids = Array.from({ length: MAX_PENDING_CHANGES + 1 }, (_, i) => `run-${i}`);
      const publishing = (async () => {
        for (let i = 0; i < ids.length; i += 1000) {
          await Promise.all(ids.slice(i, i + 1000).map((id) => pub.publish(change(org, id))));
        }
      })();
      // The fast subscriber reads all of them; each reached the slow one's queue at the same time.
      expect(await fast.take(ids.length)).toEqual(ids);
      await publishing;
      const got: string[] = [];
      let error: unknown;
      try {
        for (let r = await slow.next(); !r.done; r = await slow.next()) got.push(r.value.run.id);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(Unavailable);
      expect(got).toEqual(ids.slice(0, MAX_PENDING_CHANGES));
      expect(options.held(sub)).toBe(1);
    }, 30_000);
  });
}
