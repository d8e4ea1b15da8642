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
 * 5. every entry added is PUBLISHed on the channel named like the key, for the readers' {@link Hub}: the entry
 *    itself (see {@link parseMessage}) when the call's events total at most {@link INLINE_PUBLISH_BYTES}, else one
 *    notice `~ <first id> <last id>` (the hub reads that range with XRANGE), so that one large append cannot
 *    overrun a subscriber's output buffer (Redis drops a Pub/Sub client past 32 MB by default);
 * 6. PEXPIRE refreshes the retention.
 *
 * KEYS[1] the stream; ARGV: mode (`a` append | `e` end), maxlen, ttl ms, end flag (`a`) or the run's stop reason
 * or '' (`e`), the fallback stop reason (`e`), the stop_reason event's JSON (`e`), then pairs (data JSON, the
 * event's stop reason or ''). Returns {epoch, first seq, count appended, 1 if this call ended the stream}.
 */
export const INLINE_PUBLISH_BYTES = 64 * 1024;

export const STREAM_WRITE_LUA = `
local key = KEYS[1]
local mode = ARGV[1]
local maxlen = ARGV[2]
local bytes = 0
for i = 7, #ARGV, 2 do bytes = bytes + #ARGV[i] end
if mode == 'e' then bytes = bytes + #ARGV[6] end
local inline = bytes <= ${INLINE_PUBLISH_BYTES}
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
local firstId, lastId = nil, nil
local function add(data, reason)
  seq = seq + 1
  if reason ~= '' then sr = reason end
  lastId = num(seq) .. '-0'
  firstId = firstId or lastId
  redis.call('XADD', key, 'MAXLEN', '~', maxlen, lastId, 'epoch', epoch, 'seq', num(seq), 't', now, 'sr', sr, 'data', data)
  if inline then redis.call('PUBLISH', key, lastId .. ' ' .. epoch .. ' ' .. now .. ' 0 ' .. sr .. '\\n' .. data) end
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
  lastId = num(seq) .. '-1'
  firstId = firstId or lastId
  redis.call('XADD', key, 'MAXLEN', '~', maxlen, lastId, 'epoch', epoch, 'seq', num(seq), 't', now, 'sr', sr, 'end', '1')
  if inline then redis.call('PUBLISH', key, lastId .. ' ' .. epoch .. ' ' .. now .. ' 1 ' .. sr .. '\\n') end
end
if lastId ~= nil and not inline then redis.call('PUBLISH', key, '~ ' .. firstId .. ' ' .. lastId) end
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
  /** What readers yield for it, made once and shared by every reader of the entry (see {@link itemOf}). */
  item?: StreamItem;
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

/** A message of a run's channel: an entry just written, or the range of entries to read (a large append). */
type ChannelMessage = { entry: Entry } | { from: string; to: string };

/**
 * Parses what {@link STREAM_WRITE_LUA} publishes: `<seq>-<sub> <epoch> <t> <end 0|1> <sr>` + `\n` + the data (none
 * for the end marker), or `~ <first id> <last id>`. Null for anything else (ignored).
 */
function parseMessage(message: string): ChannelMessage | null {
  const nl = message.indexOf('\n');
  if (nl < 0) {
    const [tilde, from, to] = message.split(' ');
    return tilde === '~' && from && to ? { from, to } : null;
  }
  const [id, epoch, t, end, sr] = message.slice(0, nl).split(' ');
  const dash = id?.indexOf('-') ?? -1;
  if (!id || dash < 0 || !epoch || sr === undefined) return null;
  const isEnd = end === '1';
  return {
    entry: {
      id,
      sub: Number(id.slice(dash + 1)),
      epoch,
      seq: Number(id.slice(0, dash)),
      t: Number(t),
      sr,
      end: isEnd,
      data: isEnd ? undefined : message.slice(nl + 1),
    },
  };
}

const END_ITEM: StreamItem = { kind: 'end' };

/**
 * The item readers yield for an entry: its event parsed once, with the run and position filled in, and shared by
 * every reader of the entry (the api serializes it once for all its subscribers). Readers must not modify it.
 */
function itemOf(entry: Entry, runId: string): StreamItem {
  if (entry.item) return entry.item;
  let item: StreamItem;
  if (entry.end) item = END_ITEM;
  else {
    const event = JSON.parse(entry.data ?? '{}') as RunEvent;
    item = { kind: 'event', id: formatEventId(entry), event: { ...event, runId, seqId: entry.seq } };
  }
  entry.item = item;
  return item;
}

/** A stream's state from its last entry (`XREVRANGE key + - COUNT 1`); null when the stream does not exist. */
function infoOf(raw: RawEntry[]): StreamInfo | null {
  const last = raw[0] ? parseEntry(raw[0]) : null;
  if (!last) return null;
  return {
    head: { epoch: last.epoch, seq: last.seq },
    ended: last.end,
    stopReason: (last.sr || null) as StopReason | null,
    lastWriteAt: last.t,
  };
}

/** Orders entry ids `<seq>-<sub>`. */
function afterId(entry: Entry, seq: number, sub: number): boolean {
  return entry.seq > seq || (entry.seq === seq && entry.sub > sub);
}

const AVAILABILITY_REPLIES = /^(LOADING|BUSY|MASTERDOWN|READONLY|OOM|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|MISCONF)\b/;

/** What callers are told while Redis cannot be reached. */
export const REDIS_UNAVAILABLE = 'Redis (REDIS_URL) is unavailable; retry later';

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
  // The driver's words (ioredis internals) stay in the cause, for the log; callers get the store and what to do.
  return new Unavailable(REDIS_UNAVAILABLE, { cause: err });
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
 * are checked (one pipelined XREVRANGE each) for a stream lost or expired (no write, so no message), and for entries written
 * without a message (a writer of an older version): those are read then.
 */
class Hub {
  readonly #runs = new Map<string, HubRun>();
  readonly #sub: Redis;
  readonly #cmd: Redis;
  readonly #checkMs: number;
  readonly #count: number;
  readonly #logger: Logger | undefined;
  readonly #timer: NodeJS.Timeout;
  #checking = false;
  #closed = false;

  constructor(options: {
    sub: Redis;
    cmd: Redis;
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
    if (this.#closed) return Promise.reject(new Unavailable('The run stream store is closed (the process is shutting down)'));
    let run = this.#runs.get(key);
    if (!run) {
      const subscribed = this.#sub.subscribe(key).then(
        () => {},
        (err: unknown) => {
          throw redisError(err);
        },
      );
      subscribed.catch(() => {}); // each reader awaits it
      run = { runId, key, listeners: new Set(), subscribed, last: null, lastEntryAt: Date.now(), queue: [], draining: false };
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
    if (!last || last.epoch !== epoch || seq > last.seq || (seq === last.seq && sub > last.sub)) run.last = { epoch, seq, sub };
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
      const pipeline = this.#cmd.pipeline();
      for (const run of quiet) pipeline.call('XREVRANGE', run.key, '+', '-', 'COUNT', 1);
      const replies = (await pipeline.exec()) ?? [];
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
}

/** One reader's inbox from the hub. */
class ReaderInbox implements Listener {
  readonly #batches: Entry[][] = [];
  #error: Error | null = null;
  #wake: (() => void) | null = null;
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

  /** Wakes a waiting {@link next}; the reader calls it when its signal aborts. */
  interrupt(): void {
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /**
   * The next batch; null when the signal aborted. The abort wakes it through {@link interrupt}, from the one listener
   * the reader keeps for its whole life: a listener added and removed per wait cost ~4 µs of EventTarget work on
   * every delivery.
   */
  async next(signal: AbortSignal): Promise<Entry[] | null> {
    for (;;) {
      const batch = this.#batches.shift();
      if (batch) return batch;
      if (this.#error) throw this.#error;
      if (signal.aborted) return null;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }
}

export interface RedisRunStreamOptions extends RunStreamOptions, RedisConnectionOptions {
  url: string;
  logger?: Logger | undefined;
  /** How often the hub checks the runs quiet that long for a stream lost or expired. @default 5000 */
  checkMs?: number;
  /** Entries per XRANGE when the hub reads a large append. @default 1000 */
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

  private constructor(cmd: Redis, sub: Redis, options: RedisRunStreamOptions) {
    this.#retentionMs = options.retentionMs ?? DEFAULT_STREAM_RETENTION_MS;
    this.#maxLen = options.maxLen ?? DEFAULT_STREAM_MAXLEN;
    cmd.defineCommand('runtraceStreamWrite', { numberOfKeys: 1, lua: STREAM_WRITE_LUA });
    this.#cmd = cmd as Redis & ScriptCommands;
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
    const cmd = await connectRedis(options.url, {
      ...redisOptions('runtrace:streams', options),
      commandTimeout: options.commandTimeoutMs ?? 5000,
    });
    let sub: Redis;
    try {
      // Not resubscribed after a reconnect: the hub failed every reader when the connection was lost.
      sub = await connectRedis(options.url, { ...redisOptions('runtrace:streams:hub', options), autoResubscribe: false });
    } catch (err) {
      cmd.disconnect();
      throw err;
    }
    return new RedisRunStream(cmd, sub, options);
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
    const onAbort = () => {
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
          if (item.kind === 'end' || signal.aborted) return;
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
