import { Cluster } from 'ioredis';
import { Unavailable } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { type RedisClient, redisError } from './redis-connection.ts';
import { type ChannelMessage, type Entry, infoOf, parseEntry, parseMessage, type RawEntry } from './redis-records.ts';
import type { StreamInfo } from './run-stream.ts';

/** A reader of one run, registered with the hub. */
export interface Listener {
  /** New entries of the run (in id order). */
  push(entries: Entry[]): void;
  /** The read fails (Redis unavailable, the stream lost). */
  fail(error: Error): void;
  /** For a run quiet for the check interval: the stream's current state, to notice a stream lost or expired. */
  check(info: StreamInfo | null): void;
}

interface HubRun {
  runId: string;
  key: string;
  listeners: Set<Listener>;
  /** The SUBSCRIBE of the run's channel, confirmed: from then on every entry written reaches the hub. */
  subscribed: Promise<void>;
  /** The newest entry the hub delivered or a reader caught up to (for the check's catch-up); null before. */
  last: { epoch: string; seq: number; sub: number } | null;
  /** When the hub last received an entry of this run (or a reader caught up), ms. */
  lastEntryAt: number;
  /** Messages waiting behind a range being read, in order. */
  queue: ChannelMessage[];
  /** A range of the run is being read (XRANGE): messages queue behind it. */
  draining: boolean;
}

export interface RunStreamStats {
  /** Runs the hub listens to. */
  hubRuns: number;
  /** Readers registered with the hub. */
  readers: number;
}

/**
 * Live reads for every reader of the process over ONE Pub/Sub connection: the write script publishes each entry it
 * adds on the channel named like the run's key, the hub subscribes to the channel of every run being read (while
 * at least one reader reads it) and fans each entry out in memory to the run's readers, parsed once. A write
 * therefore costs the hub one message, whatever the number of runs being read (a blocking XREAD over all of them
 * would be reissued, with every key, at each wake-up), and arrives with no polling delay.
 *
 * Nothing falls between a reader's backlog and its live entries: a reader joins (its channel's SUBSCRIBE is
 * confirmed) before it reads the backlog, so every later write reaches its inbox; duplicates are dropped by id.
 * Pub/Sub delivers in order on a connection, and a lost connection fails every reader (Unavailable, retryable from
 * its last cursor), so no entry is skipped silently. A large append arrives as a range notice (`~ first last`),
 * read with XRANGE in pages; later messages of the run wait behind it. Every `checkMs`, the runs quiet that long
 * are checked (one pipelined XREVRANGE each) for a stream lost or expired (no write, so no message), and for entries
 * written without a message (a writer of an older version): those are read then.
 */
export class Hub {
  readonly #runs = new Map<string, HubRun>();
  readonly #sub: RedisClient;
  readonly #cmd: RedisClient;
  readonly #checkMs: number;
  readonly #count: number;
  readonly #logger: Logger | undefined;
  readonly #timer: NodeJS.Timeout;
  #checking = false;
  #closed = false;

  constructor(options: {
    sub: RedisClient;
    cmd: RedisClient;
    checkMs: number;
    count: number;
    logger?: Logger | undefined;
  }) {
    this.#sub = options.sub;
    this.#cmd = options.cmd;
    this.#checkMs = options.checkMs;
    this.#count = options.count;
    this.#logger = options.logger;
    this.#sub.on('message', (channel: string, message: string) => this.#receive(channel, message));
    this.#sub.on('close', () => {
      // Messages may have been missed: every reader restarts from its last cursor.
      this.#failAll(new Unavailable('Redis (REDIS_URL) is unavailable: the connection was lost'));
    });
    this.#timer = setInterval(() => void this.#checkQuiet(), this.#checkMs);
    this.#timer.unref();
  }

  /**
   * Registers a reader of the run; resolves once the run's channel is subscribed (then no later write is missed).
   * Rejects (Unavailable) when Redis cannot be reached: the reader leaves.
   */
  join(runId: string, key: string, listener: Listener): Promise<void> {
    if (this.#closed)
      return Promise.reject(new Unavailable('The run stream store is closed (the process is shutting down)'));
    let run = this.#runs.get(key);
    if (!run) {
      const subscribed = this.#sub.subscribe(key).then(
        () => {},
        (err: unknown) => {
          throw redisError(err);
        },
      );
      subscribed.catch(() => {}); // each reader awaits it
      run = {
        runId,
        key,
        listeners: new Set(),
        subscribed,
        last: null,
        lastEntryAt: Date.now(),
        queue: [],
        draining: false,
      };
      this.#runs.set(key, run);
    }
    run.listeners.add(listener);
    return run.subscribed;
  }

  /** The reader has every entry up to `seq-sub` of `epoch` (its backlog); what follows comes from the hub. */
  start(key: string, epoch: string | undefined, seq: number, sub: number): void {
    const run = this.#runs.get(key);
    if (!run || epoch === undefined) return;
    const last = run.last;
    if (!last || last.epoch !== epoch || seq > last.seq || (seq === last.seq && sub > last.sub))
      run.last = { epoch, seq, sub };
    run.lastEntryAt = Date.now();
  }

  leave(key: string, listener: Listener): void {
    const run = this.#runs.get(key);
    if (!run?.listeners.delete(listener)) return;
    if (run.listeners.size === 0) this.#drop(run);
  }

  stats(): RunStreamStats {
    let readers = 0;
    for (const run of this.#runs.values()) readers += run.listeners.size;
    return { hubRuns: this.#runs.size, readers };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#failAll(new Unavailable('The run stream store is closed (the process is shutting down)'));
    this.#sub.disconnect();
  }

  /** Forgets a run (its last reader left, or it failed) and unsubscribes its channel. */
  #drop(run: HubRun): void {
    if (this.#runs.get(run.key) !== run) return;
    this.#runs.delete(run.key);
    run.queue.length = 0;
    if (this.#sub.status === 'ready') this.#sub.unsubscribe(run.key).catch(() => {});
  }

  #failAll(error: Error): void {
    const runs = [...this.#runs.values()];
    this.#runs.clear();
    for (const run of runs) {
      run.queue.length = 0;
      for (const listener of run.listeners) listener.fail(error);
    }
  }

  #fail(run: HubRun, error: Error): void {
    this.#drop(run);
    for (const listener of run.listeners) listener.fail(error);
  }

  #receive(channel: string, message: string): void {
    const run = this.#runs.get(channel);
    if (!run) return; // unsubscribed meanwhile
    const parsed = parseMessage(message);
    if (!parsed) {
      this.#logger?.warn({ channel }, 'ignoring a malformed run stream message');
      return;
    }
    if (!run.draining && 'entry' in parsed) {
      this.#deliver(run, [parsed.entry]);
      return;
    }
    run.queue.push(parsed);
    if (!run.draining) void this.#drain(run);
  }

  #deliver(run: HubRun, entries: Entry[]): void {
    const newest = entries[entries.length - 1];
    if (!newest) return;
    run.last = { epoch: newest.epoch, seq: newest.seq, sub: newest.sub };
    run.lastEntryAt = Date.now();
    for (const listener of run.listeners) listener.push(entries);
  }

  /** Handles the run's queued messages in order, reading ranges with XRANGE (in pages of `count`). */
  async #drain(run: HubRun): Promise<void> {
    run.draining = true;
    try {
      for (let message = run.queue.shift(); message; message = run.queue.shift()) {
        if ('entry' in message) {
          this.#deliver(run, [message.entry]);
          continue;
        }
        let from = message.from;
        for (;;) {
          const raw = (await this.#cmd.call('XRANGE', run.key, from, message.to, 'COUNT', this.#count)) as RawEntry[];
          if (this.#runs.get(run.key) !== run) return;
          const entries = raw.map(parseEntry);
          this.#deliver(run, entries);
          const newest = entries[entries.length - 1];
          if (!newest || raw.length < this.#count) break;
          from = `(${newest.id}`;
        }
      }
    } catch (err) {
      this.#fail(run, redisError(err, run.runId));
    } finally {
      run.draining = false;
    }
  }

  /**
   * Runs quiet for `checkMs`: lost or expired (their readers fail), or written without a message (read now). One
   * pipeline (one write) for all of them: a thousand idle runs being watched cost one round trip per interval.
   */
  async #checkQuiet(): Promise<void> {
    if (this.#checking || this.#closed) return;
    const now = Date.now();
    const quiet = [...this.#runs.values()].filter((run) => run.last !== null && now - run.lastEntryAt >= this.#checkMs);
    if (quiet.length === 0) return;
    this.#checking = true;
    try {
      const replies = await this.#lastEntries(quiet.map((run) => run.key));
      quiet.forEach((run, i) => {
        const [err, raw] = replies[i] ?? [new Error('no reply'), null];
        if (err) {
          this.#logger?.debug({ err, runId: run.runId }, 'checking a quiet run stream failed');
          return;
        }
        if (this.#runs.get(run.key) !== run) return;
        const info = infoOf(raw as RawEntry[]);
        for (const listener of run.listeners) listener.check(info);
        const last = run.last;
        if (!info || !last || info.head.epoch !== last.epoch || run.draining) return;
        const headSub = info.ended ? 1 : 0;
        if (info.head.seq > last.seq || (info.head.seq === last.seq && headSub > last.sub)) {
          run.queue.push({ from: `(${last.seq}-${last.sub}`, to: '+' });
          void this.#drain(run);
        }
      });
    } catch (err) {
      this.#logger?.debug({ err }, 'checking quiet run streams failed');
    } finally {
      this.#checking = false;
    }
  }

  /**
   * `XREVRANGE key + - COUNT 1` of each key as `[error, reply]` pairs: one pipeline on a single Redis; on a cluster,
   * where a pipeline may only hold keys of one slot and runs hash apart, one command each, sent together.
   */
  async #lastEntries(keys: string[]): Promise<[Error | null, unknown][]> {
    if (this.#cmd instanceof Cluster) {
      const cmd = this.#cmd;
      const settled = await Promise.allSettled(keys.map((key) => cmd.call('XREVRANGE', key, '+', '-', 'COUNT', 1)));
      return settled.map((r) => (r.status === 'fulfilled' ? [null, r.value] : [r.reason as Error, null]));
    }
    const pipeline = this.#cmd.pipeline();
    for (const key of keys) pipeline.call('XREVRANGE', key, '+', '-', 'COUNT', 1);
    return ((await pipeline.exec()) ?? []) as [Error | null, unknown][];
  }
}
