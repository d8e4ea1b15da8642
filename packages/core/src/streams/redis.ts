import { Redis, type RedisOptions } from 'ioredis';
import { Conflict, Unavailable } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { StopReason } from '../runs/status.ts';
import { streamEndedError } from './memory.ts';
import type { RunEvent } from './run-event.ts';
import {
  type AppendResult,
  cursorBeyondHead,
  DEFAULT_STREAM_MAXLEN,
  DEFAULT_STREAM_RETENTION_MS,
  type EndOptions,
  type EndResult,
  formatEventId,
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

/** The Redis key of a run's stream (Letta's). All of a run's stream state lives in this one key (Cluster safe). */
export function streamKey(runId: string): string {
  return `sse:run:${runId}`;
}

/**
 * Every write to a run's stream, atomically (one script per call, so several writers never race):
 * 1. the last entry gives the stream's epoch, seq, latest stop reason (`sr`, carried on every entry) and whether it
 *    ended (`end=1` on the end marker);
 * 2. an ended stream refuses appends (`RUNTRACE_ENDED`; mode `e`, ending, is then a no-op);
 * 3. a missing stream gets a new epoch: the server's TIME in microseconds, base 36 (never reused for a run, so ids
 *    of a lost stream are never handed out again);
 * 4. each event is XADDed with the explicit id `<seq>-0` and fields epoch, seq, t (ms), sr, data (compact JSON);
 *    the end marker gets `<seq>-1` (seq = its last event's) and `end=1`; `MAXLEN ~` trims the oldest;
 * 5. PEXPIRE refreshes the retention.
 *
 * KEYS[1] the stream; ARGV: mode (`a` append | `e` end), maxlen, ttl ms, end flag (`a`) or the run's stop reason
 * or '' (`e`), the fallback stop reason (`e`), the stop_reason event's JSON (`e`), then pairs (data JSON, the
 * event's stop reason or ''). Returns {epoch, first seq, count appended, 1 if this call ended the stream}.
 */
export const STREAM_WRITE_LUA = `
local key = KEYS[1]
local mode = ARGV[1]
local maxlen = ARGV[2]
local function num(n) return string.format('%.0f', n) end
local function base36(n)
  local digits = '0123456789abcdefghijklmnopqrstuvwxyz'
  local s = ''
  repeat
    local d = n % 36
    s = string.sub(digits, d + 1, d + 1) .. s
    n = (n - d) / 36
  until n == 0
  return s
end
local epoch, seq, sr, ended = nil, 0, '', false
local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
if #last > 0 then
  local f = last[1][2]
  for i = 1, #f, 2 do
    local k, v = f[i], f[i + 1]
    if k == 'epoch' then epoch = v
    elseif k == 'seq' then seq = tonumber(v)
    elseif k == 'sr' then sr = v
    elseif k == 'end' then ended = true end
  end
end
if ended then
  if mode == 'e' then return {epoch, seq + 1, 0, 0} end
  return redis.error_reply('RUNTRACE_ENDED the stream has ended')
end
local t = redis.call('TIME')
local now = num(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
if epoch == nil then
  redis.call('DEL', key)
  epoch = base36(tonumber(t[1]) * 1000000 + tonumber(t[2]))
  seq = 0
end
local first = seq + 1
local function add(data, reason)
  seq = seq + 1
  if reason ~= '' then sr = reason end
  redis.call('XADD', key, 'MAXLEN', '~', maxlen, num(seq) .. '-0', 'epoch', epoch, 'seq', num(seq), 't', now, 'sr', sr, 'data', data)
end
for i = 7, #ARGV, 2 do add(ARGV[i], ARGV[i + 1]) end
local endNow = 0
if mode == 'e' then
  local want = ARGV[4]
  local need
  if want ~= '' then need = (sr ~= want) else need = (sr == '') end
  if need then
    if want ~= '' then add(ARGV[6], want) else add(ARGV[6], ARGV[5]) end
  end
  endNow = 1
elseif ARGV[4] == '1' then
  endNow = 1
end
if endNow == 1 then
  redis.call('XADD', key, 'MAXLEN', '~', maxlen, num(seq) .. '-1', 'epoch', epoch, 'seq', num(seq), 't', now, 'sr', sr, 'end', '1')
end
redis.call('PEXPIRE', key, ARGV[3])
return {epoch, first, seq - first + 1, endNow}
`;

/** One stream entry, parsed. */
interface Entry {
  id: string;
  /** `<seq>-0` for events, `<seq>-1` for the end marker. */
  sub: number;
  epoch: string;
  seq: number;
  t: number;
  sr: string;
  end: boolean;
  data: string | undefined;
}

type RawEntry = [id: string, fields: string[]];

function parseEntry([id, fields]: RawEntry): Entry {
  const entry: Entry = { id, sub: 0, epoch: '', seq: 0, t: 0, sr: '', end: false, data: undefined };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const v = fields[i + 1] as string;
    switch (fields[i]) {
      case 'epoch':
        entry.epoch = v;
        break;
      case 'seq':
        entry.seq = Number(v);
        break;
      case 't':
        entry.t = Number(v);
        break;
      case 'sr':
        entry.sr = v;
        break;
      case 'end':
        entry.end = v === '1';
        break;
      case 'data':
        entry.data = v;
        break;
    }
  }
  entry.sub = Number(id.slice(id.indexOf('-') + 1));
  return entry;
}

/** Orders entry ids `<seq>-<sub>`. */
function afterId(entry: Entry, seq: number, sub: number): boolean {
  return entry.seq > seq || (entry.seq === seq && entry.sub > sub);
}

const AVAILABILITY_REPLIES = /^(LOADING|BUSY|MASTERDOWN|READONLY|OOM|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|MISCONF)\b/;

/**
 * Redis failures as domain errors: the script's refusal → Conflict; anything about reaching Redis (connection
 * refused or lost, timeouts, a server loading or out of memory) → Unavailable, the retryable one. Other replies
 * are bugs and stay as they are.
 */
export function redisError(err: unknown, runId?: string): Error {
  if (err instanceof Error && err.name === 'ReplyError') {
    if (err.message.includes('RUNTRACE_ENDED')) return runId ? streamEndedError(runId) : new Conflict(err.message);
    if (!AVAILABILITY_REPLIES.test(err.message)) return err;
  }
  if (err instanceof Conflict || err instanceof Unavailable) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new Unavailable(`Redis (REDIS_URL) is unavailable: ${detail}`, { cause: err });
}

export interface RedisConnectionOptions {
  /** How long connecting may take before Unavailable. @default 2000 */
  connectTimeoutMs?: number;
  /** How long a command may take before Unavailable (not the blocking reads). @default 5000 */
  commandTimeoutMs?: number;
}

/**
 * ioredis options for failing fast: no offline queue (a command while disconnected fails at once), no retry of a
 * command across reconnects (`maxRetriesPerRequest: 0` rejects in-flight commands when the connection drops), a
 * short connect timeout; reconnecting continues in the background with a capped backoff.
 */
export function redisOptions(name: string, options: RedisConnectionOptions = {}): RedisOptions {
  return {
    lazyConnect: true,
    protocol: 2,
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), 2000),
  };
}

/** Connects, or throws a startup error naming REDIS_URL (the client stops reconnecting). */
export async function connectRedis(url: string, options: RedisOptions): Promise<Redis> {
  const client = new Redis(url, options);
  client.on('error', () => {}); // reported through the failing commands (Unavailable)
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    const where = (() => {
      try {
        return new URL(url).host;
      } catch {
        return 'REDIS_URL';
      }
    })();
    throw new Error(`cannot connect to Redis at ${where} (REDIS_URL): ${(err as Error).message}`, { cause: err });
  }
  return client;
}

/** A reader of one run, registered with the hub. */
interface Listener {
  /** New entries of the run (in id order). */
  push(entries: Entry[]): void;
  /** The read fails (Redis unavailable, the stream lost). */
  fail(error: Error): void;
  /** For a run quiet for `blockMs`: the stream's current state, to notice a stream lost or expired while waiting. */
  check(info: StreamInfo | null): void;
}

interface HubRun {
  runId: string;
  key: string;
  /** The id the hub reads after; null until the first reader has read its backlog. */
  id: string | null;
  listeners: Set<Listener>;
  /** When the hub last received an entry of this run (or began reading it), ms. */
  lastEntryAt: number;
}

export interface RunStreamStats {
  /** Runs the hub reads (or will, once their first reader caught up). */
  hubRuns: number;
  /** Readers registered with the hub. */
  readers: number;
}

/**
 * ONE blocking connection per process reads every run being read: `XREAD COUNT n BLOCK ms STREAMS k1 k2 … id1 id2 …`,
 * fanning entries out in memory to each run's readers. When the set of runs changes, the block is interrupted
 * with `CLIENT UNBLOCK <id>` from the command connection (retried until the XREAD has reached the server), so a
 * new reader waits no longer than one round trip. Every `blockMs`, the runs quiet that long are checked for loss or
 * expiry (XREAD keeps waiting on a key that vanished) with one XREVRANGE each.
 */
class Hub {
  readonly #runs = new Map<string, HubRun>();
  readonly #blocker: Redis;
  readonly #cmd: Redis;
  readonly #blockMs: number;
  readonly #count: number;
  readonly #info: (runId: string) => Promise<StreamInfo | null>;
  readonly #logger: Logger | undefined;
  #clientId: number | null = null;
  /** Bumped whenever the set of runs (or a start id) changes. */
  #generation = 0;
  /** The generation the XREAD in flight was built from, or null. */
  #reading: number | null = null;
  #interrupting = false;
  /** When quiet runs were last checked for loss or expiry, ms. */
  #lastCheck = Date.now();
  #wakeLoop: (() => void) | null = null;
  #closed = false;
  readonly #loop: Promise<void>;

  constructor(options: {
    blocker: Redis;
    cmd: Redis;
    blockMs: number;
    count: number;
    info: (runId: string) => Promise<StreamInfo | null>;
    logger?: Logger | undefined;
  }) {
    this.#blocker = options.blocker;
    this.#cmd = options.cmd;
    this.#blockMs = options.blockMs;
    this.#count = options.count;
    this.#info = options.info;
    this.#logger = options.logger;
    this.#blocker.on('ready', () => void this.#refreshClientId());
    this.#blocker.on('close', () => {
      this.#clientId = null;
      this.#failAll(new Unavailable('Redis (REDIS_URL) is unavailable: the connection was lost'));
    });
    this.#loop = this.#refreshClientId()
      .then(() => this.#run())
      .catch((err: unknown) => {
        // A bug: say so, and fail the readers rather than leave them waiting.
        this.#logger?.error({ err }, 'the run stream hub stopped');
        this.#closed = true;
        this.#failAll(new Unavailable('The run stream hub stopped'));
      });
  }

  join(runId: string, key: string, listener: Listener): void {
    let run = this.#runs.get(key);
    if (!run) {
      run = { runId, key, id: null, listeners: new Set(), lastEntryAt: Date.now() };
      this.#runs.set(key, run);
    }
    run.listeners.add(listener);
  }

  /** The reader has everything up to `id`; the hub reads after it (if it does not read this run yet). */
  start(key: string, id: string, listener: Listener): void {
    const run = this.#runs.get(key);
    // Not registered any more: the hub failed it (its inbox holds the error).
    if (!run?.listeners.has(listener) || run.id !== null) return;
    run.id = id;
    run.lastEntryAt = Date.now();
    this.#changed();
  }

  leave(key: string, listener: Listener): void {
    const run = this.#runs.get(key);
    if (!run?.listeners.delete(listener)) return;
    if (run.listeners.size === 0) {
      this.#runs.delete(key);
      if (run.id !== null) this.#changed();
    }
  }

  stats(): RunStreamStats {
    let readers = 0;
    for (const run of this.#runs.values()) readers += run.listeners.size;
    return { hubRuns: this.#runs.size, readers };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#failAll(new Unavailable('The run stream store is closed (the process is shutting down)'));
    this.#wakeLoop?.();
    this.#blocker.disconnect();
    await this.#loop;
  }

  #failAll(error: Error): void {
    const runs = [...this.#runs.values()];
    this.#runs.clear();
    if (runs.length) this.#generation += 1;
    for (const run of runs) for (const listener of run.listeners) listener.fail(error);
  }

  async #refreshClientId(): Promise<void> {
    try {
      this.#clientId = Number(await this.#blocker.client('ID'));
    } catch {
      this.#clientId = null;
    }
  }

  #changed(): void {
    this.#generation += 1;
    const wake = this.#wakeLoop;
    this.#wakeLoop = null;
    wake?.();
    void this.#interrupt();
  }

  /** Unblocks the XREAD in flight if it was built from an older set of runs. */
  async #interrupt(): Promise<void> {
    if (this.#interrupting) return;
    this.#interrupting = true;
    try {
      while (!this.#closed && this.#reading !== null && this.#reading !== this.#generation && this.#clientId !== null) {
        const unblocked = await this.#cmd.client('UNBLOCK', this.#clientId);
        if (unblocked === 1) break;
        // Not blocked yet: the XREAD is still on its way to the server (or just answered).
        await new Promise((r) => setTimeout(r, 1));
      }
    } catch {
      // Redis unavailable: the blocking connection fails its readers itself.
    } finally {
      this.#interrupting = false;
    }
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      const active = [...this.#runs.values()].filter((r) => r.id !== null);
      if (active.length === 0) {
        await new Promise<void>((resolve) => {
          this.#wakeLoop = resolve;
        });
        continue;
      }
      const generation = this.#generation;
      let reply: unknown;
      try {
        if (this.#blocker.status !== 'ready') await this.#ready();
        if (this.#clientId === null) await this.#refreshClientId();
        this.#reading = generation;
        const keys = active.map((r) => r.key);
        const ids = active.map((r) => r.id as string);
        reply = await this.#blocker.call('XREAD', 'COUNT', this.#count, 'BLOCK', this.#blockMs, 'STREAMS', ...keys, ...ids);
      } catch (err) {
        this.#reading = null;
        if (this.#closed) return;
        this.#failAll(redisError(err));
        continue;
      }
      this.#reading = null;
      const now = Date.now();
      if (reply) {
        for (const [key, raw] of reply as [string, RawEntry[]][]) {
          const run = this.#runs.get(key);
          if (!run || run.id === null || raw.length === 0) continue;
          const entries = raw.map(parseEntry);
          run.id = entries[entries.length - 1]?.id ?? run.id;
          run.lastEntryAt = now;
          for (const listener of run.listeners) listener.push(entries);
        }
      }
      if (now - this.#lastCheck >= this.#blockMs) {
        this.#lastCheck = now;
        await this.#checkQuiet(active.filter((run) => now - run.lastEntryAt >= this.#blockMs));
      }
    }
  }

  /** Waits for the blocking connection to be ready, at most its connect timeout. */
  #ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#blocker.off('ready', onReady);
        reject(new Unavailable('Redis (REDIS_URL) is unavailable: not connected'));
      }, this.#blocker.options.connectTimeout ?? 2000);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#blocker.once('ready', onReady);
    });
  }

  async #checkQuiet(active: HubRun[]): Promise<void> {
    await Promise.all(
      active.map(async (run) => {
        try {
          const info = await this.#info(run.runId);
          if (this.#runs.get(run.key) !== run) return;
          for (const listener of run.listeners) listener.check(info);
        } catch (err) {
          this.#logger?.debug({ err, runId: run.runId }, 'checking a quiet run stream failed');
        }
      }),
    );
  }
}

/** One reader's inbox from the hub. */
class ReaderInbox implements Listener {
  readonly #batches: Entry[][] = [];
  #error: Error | null = null;
  #wake: (() => void) | null = null;
  /** Set by the reader: the epoch it reads and where it is, for {@link check}. */
  epoch: string | undefined;
  seq = 0;
  constructor(readonly onCheck: (info: StreamInfo | null) => Error | null) {}

  push(entries: Entry[]): void {
    this.#batches.push(entries);
    this.#notify();
  }

  fail(error: Error): void {
    this.#error ??= error;
    this.#notify();
  }

  check(info: StreamInfo | null): void {
    const error = this.onCheck(info);
    if (error) this.fail(error);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** The next batch; null when the signal aborted. */
  async next(signal: AbortSignal): Promise<Entry[] | null> {
    for (;;) {
      const batch = this.#batches.shift();
      if (batch) return batch;
      if (this.#error) throw this.#error;
      if (signal.aborted) return null;
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.#wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }
}

export interface RedisRunStreamOptions extends RunStreamOptions, RedisConnectionOptions {
  url: string;
  logger?: Logger | undefined;
  /** Longest one hub XREAD blocks; also how often runs quiet that long are checked for loss or expiry. @default 5000 */
  blockMs?: number;
  /** Entries per stream per hub read. @default 1000 */
  hubCount?: number;
}

interface ScriptCommands {
  runtraceStreamWrite(key: string, ...args: (string | number)[]): Promise<[string, number, number, number]>;
}

/**
 * Run streams in Redis (REDIS_URL): key `sse:run:<runId>`, writes through {@link STREAM_WRITE_LUA}, reads as a
 * backlog (XRANGE from the cursor, exclusive) followed by the {@link Hub}'s live fan-out, deduplicated by id.
 */
export class RedisRunStream implements RunStream {
  readonly kind = 'redis' as const;
  readonly #cmd: Redis & ScriptCommands;
  readonly #hub: Hub;
  readonly #retentionMs: number;
  readonly #maxLen: number;

  private constructor(cmd: Redis, blocker: Redis, options: RedisRunStreamOptions) {
    this.#retentionMs = options.retentionMs ?? DEFAULT_STREAM_RETENTION_MS;
    this.#maxLen = options.maxLen ?? DEFAULT_STREAM_MAXLEN;
    cmd.defineCommand('runtraceStreamWrite', { numberOfKeys: 1, lua: STREAM_WRITE_LUA });
    this.#cmd = cmd as Redis & ScriptCommands;
    this.#hub = new Hub({
      blocker,
      cmd,
      blockMs: options.blockMs ?? 5000,
      count: options.hubCount ?? 1000,
      info: (runId) => this.info(runId),
      logger: options.logger,
    });
  }

  /** Connects both connections (command, blocking); throws naming REDIS_URL when Redis cannot be reached. */
  static async connect(options: RedisRunStreamOptions): Promise<RedisRunStream> {
    const cmd = await connectRedis(options.url, {
      ...redisOptions('runtrace:streams', options),
      commandTimeout: options.commandTimeoutMs ?? 5000,
    });
    let blocker: Redis;
    try {
      blocker = await connectRedis(options.url, redisOptions('runtrace:streams:hub', options));
    } catch (err) {
      cmd.disconnect();
      throw err;
    }
    return new RedisRunStream(cmd, blocker, options);
  }

  /** The command connection (tests: DEL, TTL, XLEN). */
  get client(): Redis {
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

  async #write(runId: string, ...args: [string, string, string, string, string[]]): Promise<[string, number, number, number]> {
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
    const last = raw[0] ? parseEntry(raw[0]) : null;
    if (!last) return null;
    return {
      head: { epoch: last.epoch, seq: last.seq },
      ended: last.end,
      stopReason: (last.sr || null) as StopReason | null,
      lastWriteAt: last.t,
    };
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
    // Registered before the backlog is read, so nothing written meanwhile is missed.
    this.#hub.join(runId, key, inbox);
    // Left at once on abort, even while the consumer does not pull.
    const onAbort = () => this.#hub.leave(key, inbox);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
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
        if (entry.end) return { kind: 'end' };
        const event = JSON.parse(entry.data ?? '{}') as RunEvent;
        return { kind: 'event', id: formatEventId({ epoch, seq }), event: { ...event, runId, seqId: seq } };
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
          if (item.kind === 'end' || signal.aborted) return;
        }
        if (raw.length < batchSize) break;
      }
      // 2. Live: the hub reads after what the backlog returned; duplicates of the backlog are skipped by id.
      this.#hub.start(key, `${seq}-${sub}`, inbox);
      for (;;) {
        const batch = await inbox.next(signal);
        if (!batch) return;
        for (const entry of batch) {
          const item = take(entry);
          if (!item) continue;
          yield item;
          if (item.kind === 'end' || signal.aborted) return;
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
