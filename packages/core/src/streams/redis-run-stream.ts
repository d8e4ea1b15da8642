import type { Logger } from '../logger.ts';
import type { StopReason } from '../runs/status.ts';
import { Hub, type RunStreamStats } from './pubsub-hub.ts';
import { ReaderInbox } from './reader-inbox.ts';
import { connectPubSub, type RedisClient, type RedisConnectionOptions, redisError } from './redis-connection.ts';
import { afterId, type Entry, infoOf, itemOf, parseEntry, type RawEntry } from './redis-records.ts';
import { type ScriptCommands, STREAM_WRITE_LUA, streamKey } from './redis-scripts.ts';
import type { RunEvent } from './run-event.ts';
import {
  type AppendResult,
  cursorBeyondHead,
  DEFAULT_STREAM_MAXLEN,
  DEFAULT_STREAM_RETENTION_MS,
  type EndOptions,
  type EndResult,
  missingStreamError,
  type ReadOptions,
  type RunStream,
  type RunStreamOptions,
  type StreamInfo,
  type StreamItem,
  type StreamPosition,
  stopReasonEvent,
  streamLost,
} from './run-stream.ts';

export interface RedisRunStreamOptions extends RunStreamOptions, RedisConnectionOptions {
  url: string;
  logger?: Logger | undefined;
  /** How often the hub checks the runs quiet that long for a stream lost or expired. @default 5000 */
  checkMs?: number;
  /** Entries per XRANGE when the hub reads a large append. @default 1000 */
  hubCount?: number;
}

/**
 * Run streams in Redis (REDIS_URL): key `sse:run:{<runId>}`, writes through {@link STREAM_WRITE_LUA}, reads as a
 * backlog (XRANGE from the cursor, exclusive) followed by the {@link Hub}'s live fan-out, deduplicated by id.
 */
export class RedisRunStream implements RunStream {
  readonly kind = 'redis' as const;
  readonly #cmd: RedisClient & ScriptCommands;
  readonly #hub: Hub;
  readonly #retentionMs: number;
  readonly #maxLen: number;

  private constructor(cmd: RedisClient, sub: RedisClient, options: RedisRunStreamOptions) {
    this.#retentionMs = options.retentionMs ?? DEFAULT_STREAM_RETENTION_MS;
    this.#maxLen = options.maxLen ?? DEFAULT_STREAM_MAXLEN;
    cmd.defineCommand('runtraceStreamWrite', { numberOfKeys: 1, lua: STREAM_WRITE_LUA });
    this.#cmd = cmd as RedisClient & ScriptCommands;
    this.#hub = new Hub({
      sub,
      cmd,
      checkMs: options.checkMs ?? 5000,
      count: options.hubCount ?? 1000,
      logger: options.logger,
    });
  }

  /** Connects both connections (command, Pub/Sub); throws naming REDIS_URL when Redis cannot be reached. */
  static async connect(options: RedisRunStreamOptions): Promise<RedisRunStream> {
    const names = { cmd: 'runtrace:streams', sub: 'runtrace:streams:hub' };
    const { cmd, sub } = await connectPubSub(options.url, names, options);
    return new RedisRunStream(cmd, sub, options);
  }

  /** The command connection (tests: DEL, TTL, XLEN). */
  get client(): RedisClient {
    return this.#cmd;
  }

  async append(runId: string, events: RunEvent[], options: { end?: boolean } = {}): Promise<AppendResult> {
    const args = events.flatMap((e) => [JSON.stringify(e), e.messageType === 'stop_reason' ? e.stopReason : '']);
    const [epoch, first, count, ended] = await this.#write(runId, 'a', options.end ? '1' : '0', '', '', args);
    return { positions: positions(epoch, first, count), ended: ended === 1 };
  }

  async end(runId: string, options: EndOptions): Promise<EndResult> {
    const args = (options.events ?? []).flatMap((e) => [
      JSON.stringify(e),
      e.messageType === 'stop_reason' ? e.stopReason : '',
    ]);
    const reason: StopReason = options.stopReason ?? options.fallback;
    const [epoch, first, count, ended] = await this.#write(
      runId,
      'e',
      options.stopReason ?? '',
      options.fallback,
      JSON.stringify(stopReasonEvent(reason)),
      args,
    );
    return { positions: positions(epoch, first, count), ended: ended === 1 };
  }

  async #write(
    runId: string,
    ...args: [string, string, string, string, string[]]
  ): Promise<[string, number, number, number]> {
    const [mode, a4, a5, a6, pairs] = args;
    try {
      const [epoch, first, count, ended] = await this.#cmd.runtraceStreamWrite(
        streamKey(runId),
        mode,
        this.#maxLen,
        this.#retentionMs,
        a4,
        a5,
        a6,
        ...pairs,
      );
      return [String(epoch), Number(first), Number(count), Number(ended)];
    } catch (err) {
      throw redisError(err, runId);
    }
  }

  async info(runId: string): Promise<StreamInfo | null> {
    let raw: RawEntry[];
    try {
      raw = (await this.#cmd.call('XREVRANGE', streamKey(runId), '+', '-', 'COUNT', 1)) as RawEntry[];
    } catch (err) {
      throw redisError(err, runId);
    }
    return infoOf(raw);
  }

  async *read(runId: string, options: ReadOptions): AsyncGenerator<StreamItem> {
    const { signal } = options;
    if (signal.aborted) return;
    const key = streamKey(runId);
    const batchSize = options.batchSize ?? 100;
    let epoch = options.after?.epoch;
    let seq = options.after?.seq ?? options.startingAfter ?? 0;
    /** The last id handled: `<seq>-<sub>`. */
    let sub = 0;
    const missing = (position: StreamPosition) =>
      missingStreamError(runId, position, this.#retentionMs, options.missing);
    const inbox = new ReaderInbox((info) => {
      if (epoch === undefined) return null;
      if (!info) return missing({ epoch, seq });
      return info.head.epoch === epoch ? null : streamLost(runId, { epoch, seq });
    });
    // Registered (its channel subscribed) before the backlog is read, so nothing written meanwhile is missed.
    const joined = this.#hub.join(runId, key, inbox);
    // Left at once on abort, even while the consumer does not pull; a reader waiting for the hub wakes and ends.
    // A flag, not `signal.aborted` (a getter with checks), read once per delivered event.
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      this.#hub.leave(key, inbox);
      inbox.interrupt();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await joined;
      const head = await this.info(runId);
      if (!head) {
        if (epoch !== undefined) throw missing({ epoch, seq });
      } else if (epoch === undefined) {
        epoch = head.head.epoch;
      } else if (head.head.epoch !== epoch) {
        throw streamLost(runId, { epoch, seq });
      } else if (options.after && seq > head.head.seq) {
        throw cursorBeyondHead(runId, options.after, head.head.seq);
      }
      /** Handles one entry: the event to yield, 'end', or null (already seen). */
      const take = (entry: Entry): StreamItem | null => {
        if (epoch === undefined) epoch = entry.epoch;
        else if (entry.epoch !== epoch) throw streamLost(runId, { epoch, seq });
        if (!afterId(entry, seq, sub)) return null;
        seq = entry.seq;
        sub = entry.sub;
        return itemOf(entry, runId);
      };
      // 1. The backlog, from the cursor (exclusive), in batches.
      for (;;) {
        let raw: RawEntry[];
        try {
          raw = (await this.#cmd.call('XRANGE', key, `(${seq}-${sub}`, '+', 'COUNT', batchSize)) as RawEntry[];
        } catch (err) {
          throw redisError(err, runId);
        }
        for (const entry of raw.map(parseEntry)) {
          const item = take(entry);
          if (!item) continue;
          yield item;
          if (item.kind === 'end' || aborted) return;
        }
        if (raw.length < batchSize) break;
      }
      // 2. Live: what the hub received since the reader joined; duplicates of the backlog are skipped by id.
      this.#hub.start(key, epoch, seq, sub);
      for (;;) {
        const batch = await inbox.next(signal);
        if (!batch) return;
        for (const entry of batch) {
          const item = take(entry);
          if (!item) continue;
          yield item;
          if (item.kind === 'end' || aborted) return;
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#hub.leave(key, inbox);
    }
  }

  /** What the hub holds (tests: an aborted reader leaves; the hub reads no run nobody reads). */
  stats(): RunStreamStats {
    return this.#hub.stats();
  }

  async close(): Promise<void> {
    await this.#hub.close();
    this.#cmd.disconnect();
  }
}

function positions(epoch: string, first: number, count: number): StreamPosition[] {
  return Array.from({ length: count }, (_, i) => ({ epoch, seq: first + i }));
}
