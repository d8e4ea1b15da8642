import { z } from 'zod';
import { type Actor, DEFAULT_USER_ID } from '../actor.ts';
import type { Db } from '../db/connect.ts';
import { Conflict, Expired, InvalidArgument } from '../errors.ts';
import { idSchema } from '../ids.ts';
import type { Logger } from '../logger.ts';
import { requireRun } from '../runs/require-run.ts';
import type { RunManager, TerminalEnd } from '../runs/run-manager.ts';
import type { Run } from '../runs/schemas.ts';
import { isTerminal, type RunStatus, type StopReason, statusForStopReason } from '../runs/status.ts';
import { toIso } from '../time.ts';
import { type RunEvent, runEventSchema } from './run-event.ts';
import {
  formatDuration,
  formatEventId,
  lastStopReason,
  parseEventId,
  type RunStream,
  type StreamItem,
  StreamLost,
  type StreamPosition,
  streamLost,
} from './run-stream.ts';
import { type StaleCandidate, staleRunCandidates } from './stale-run-candidates.ts';

/** Most events one `appendEvents` call carries. */
export const MAX_EVENTS_PER_APPEND = 10_000;

export const appendEventsInput = z.strictObject({
  runId: idSchema('run'),
  events: z.array(runEventSchema).min(1).max(MAX_EVENTS_PER_APPEND),
  /** Ends the stream: `events` must carry a stop_reason, which sets the run's status (canonical mapping). */
  end: z.boolean().optional(),
});
export type AppendEventsInput = z.input<typeof appendEventsInput>;

export interface AppendEventsResult {
  /** The appended events' ids (`"<epoch>:<seq>"`), in order. */
  ids: string[];
  /** Whether the stream has ended (with `end: true`). */
  ended: boolean;
}

export const streamRunInput = z.strictObject({
  runId: idSchema('run'),
  /** The id of the last event received (`"<epoch>:<seq>"`); wins over `startingAfter`. */
  lastEventId: z.string().max(100).nullish(),
  /** Deliver events with seq greater than this (Letta's `starting_after`). @default 0 */
  startingAfter: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullish(),
  /** Events fetched per store round trip while catching up. @default 100 */
  batchSize: z.number().int().min(1).max(1000).nullish(),
});
export type StreamRunInput = z.input<typeof streamRunInput>;

export interface RunStreamServiceOptions {
  db: Db;
  runs: RunManager;
  stream: RunStream;
  logger: Logger;
  /** CONTRACTS §6. @default 3 h */
  retentionMs: number;
  /** A background run silent this long is failed with `stream_incomplete`. @default 30 min */
  staleAfterMs: number;
  /** How often {@link RunStreamService.sweepStale} runs once {@link RunStreamService.start} was called. */
  sweepIntervalMs: number;
  /** How long `appendEvents` trusts a run lookup (see {@link RunStreamService.appendEvents}). @default 30 s */
  appendLookupMs?: number;
}

/** What `appendEvents` needs of a run: its organization and `background` never change; `status` is as looked up. */
interface AppendTarget {
  id: string;
  background: boolean;
  status: string;
}

/** Most runs whose lookup `appendEvents` keeps (the oldest lookups go first). */
const APPEND_LOOKUPS_MAX = 10_000;

/** The stop reason appended when a run became terminal by status alone and its stream has none. */
const FALLBACK_STOP_REASON: Record<RunStatus, StopReason> = {
  created: 'error',
  running: 'error',
  completed: 'end_turn',
  failed: 'error',
  cancelled: 'cancelled',
};

/** Letta's message for a producer that stopped without a stop reason (letta-behavior §11.8). */
export const STREAM_INCOMPLETE_MESSAGE = 'Stream ended unexpectedly without stop_reason.';

function notBackground(what: string): InvalidArgument {
  return new InvalidArgument(`Run was not created in background mode, so ${what}.`, { field: 'runId' });
}

/**
 * Run streams for the api and in-process services (CONTRACTS §6): append events to a background run's stream,
 * subscribe from a cursor, end the stream when the run becomes terminal (the RunManager's `onTerminal` hook),
 * and fail runs whose producer fell silent (the stale sweeper).
 *
 * The run's terminal transition is the arbiter: `appendEvents({ end: true })` and the sweeper hand their final events
 * to the run's update, whose `onTerminal` hook ({@link onRunTerminal}) writes them with the end marker in one atomic
 * step, under the run's row lock and before the status commits. So the stream's stop reason is the committed
 * status's, whatever the interleaving, and an update refused by either store writes nothing to the other.
 */
export class RunStreamService {
  readonly #db: Db;
  readonly #runs: RunManager;
  readonly #stream: RunStream;
  readonly #logger: Logger;
  readonly #retentionMs: number;
  readonly #staleAfterMs: number;
  readonly #sweepIntervalMs: number;
  /** `<organization> <run>` → a recent lookup of an active background run, by `appendEvents` (insertion order). */
  readonly #appendLookups = new Map<string, { at: number; target: Promise<AppendTarget> }>();
  readonly #appendLookupMs: number;
  #sweeper: NodeJS.Timeout | null = null;
  #sweeping: Promise<unknown> | null = null;

  constructor(options: RunStreamServiceOptions) {
    this.#db = options.db;
    this.#runs = options.runs;
    this.#stream = options.stream;
    this.#logger = options.logger;
    this.#retentionMs = options.retentionMs;
    this.#staleAfterMs = options.staleAfterMs;
    this.#sweepIntervalMs = options.sweepIntervalMs;
    this.#appendLookupMs = options.appendLookupMs ?? 30_000;
  }

  /** Which store holds the streams. */
  get kind(): RunStream['kind'] {
    return this.#stream.kind;
  }

  /** The store itself (tests and benchmarks). */
  get stream(): RunStream {
    return this.#stream;
  }

  /**
   * Appends events to a background run's stream. NotFound for another organization's run; BAD_REQUEST for a run
   * that is not background, or `end` without a stop_reason; CONFLICT once the stream has ended (the run is terminal).
   *
   * A producer appends many times a second, so the run lookup (organization, background, status) of an active
   * background run is reused for `appendLookupMs`: its organization and `background` never change, and a run that
   * became terminal meanwhile has an ended stream (ended before its status committed), which refuses the append
   * (CONFLICT) and drops the lookup (as does the run's end in this process).
   */
  async appendEvents(actor: Actor, raw: AppendEventsInput): Promise<AppendEventsResult> {
    const input = appendEventsInput.parse(raw);
    const events = input.events as RunEvent[];
    const lookupKey = `${actor.organizationId} ${input.runId}`;
    const run = await this.#appendTarget(actor, input.runId, lookupKey);
    if (!run.background) throw notBackground('events cannot be appended to its stream');
    const stopReason = lastStopReason(events);
    if (input.end && !stopReason) {
      throw new InvalidArgument('`end: true` needs a stop_reason among `events` (it sets the run status)', {
        field: 'events',
      });
    }
    if (isTerminal(run.status)) {
      throw new Conflict(`Run ${run.id} is already ${run.status}: its stream has ended`, { field: 'events' });
    }
    if (!input.end || !stopReason) {
      try {
        const result = await this.#stream.append(run.id, events);
        return { ids: result.positions.map(formatEventId), ended: false };
      } catch (err) {
        if (err instanceof Conflict) this.#appendLookups.delete(lookupKey);
        throw err;
      }
    }
    // The terminal update decides; its hook writes these events with the end marker in one step, or refuses them
    // (CONFLICT) and the update with them.
    const final: TerminalEnd = { events };
    await this.#runs.update(actor, { runId: run.id, status: statusForStopReason(stopReason), stopReason }, final);
    return { ids: final.ids ?? [], ended: true };
  }

  /** The run for `appendEvents`: a recent lookup of an active background run, else the database's row. */
  #appendTarget(actor: Actor, runId: string, key: string): Promise<AppendTarget> {
    const now = Date.now();
    const cached = this.#appendLookups.get(key);
    if (cached && now - cached.at < this.#appendLookupMs) return cached.target;
    const target = requireRun(this.#db, actor, runId).then((row): AppendTarget => {
      // Only active background runs are kept; anything else is answered from the database every time.
      if (!row.background || isTerminal(row.status)) this.#forgetLookup(key, target);
      return { id: row.id, background: row.background === true, status: row.status };
    });
    target.catch(() => this.#forgetLookup(key, target));
    this.#appendLookups.delete(key); // re-inserted last: the map stays in lookup order
    this.#appendLookups.set(key, { at: now, target });
    if (this.#appendLookups.size > APPEND_LOOKUPS_MAX) {
      const oldest = this.#appendLookups.keys().next().value;
      if (oldest !== undefined) this.#appendLookups.delete(oldest);
    }
    return target;
  }

  #forgetLookup(key: string, target: Promise<AppendTarget>): void {
    if (this.#appendLookups.get(key)?.target === target) this.#appendLookups.delete(key);
  }

  /**
   * Reads a background run's stream from a cursor: the backlog, then live events, then `end`. Checks first:
   * NotFound, not background → BAD_REQUEST, past retention → Expired (CONTRACTS §6: a stream lives until 3 h after
   * its last event), a malformed `lastEventId` → BAD_REQUEST. The iterable ends when `signal` aborts.
   */
  async subscribe(actor: Actor, raw: StreamRunInput & { signal: AbortSignal }): Promise<AsyncIterable<StreamItem>> {
    const { signal, ...rest } = raw;
    const input = streamRunInput.parse(rest);
    let after: StreamPosition | undefined;
    if (input.lastEventId != null) {
      after = parseEventId(input.lastEventId) ?? undefined;
      if (!after) {
        throw new InvalidArgument('lastEventId must be an event id "<epoch>:<seq>" as streamed', {
          field: 'lastEventId',
        });
      }
    }
    const run = await requireRun(this.#db, actor, input.runId);
    if (!run.background) throw notBackground('it cannot be retrieved');
    const info = await this.#stream.info(run.id);
    if (info && !info.ended && isTerminal(run.status)) {
      // The run ended but its stream did not (the end failed, e.g. Redis was down then): end it now, not silence.
      await this.#stream.end(run.id, {
        stopReason: run.stopReason as StopReason | null,
        fallback: FALLBACK_STOP_REASON[run.status as RunStatus],
      });
    }
    let missing: 'lost' | 'expired' | undefined;
    if (!info) {
      // Nothing written for the retention period (ending the run writes too): expired. Else a terminal run's stream
      // (which its end wrote) was lost; an active run's stream may simply not have started.
      const lastActivity = new Date(toIso(run.updatedAt)).getTime();
      if (Date.now() - lastActivity >= this.#retentionMs) {
        throw new Expired(
          `The stream of run ${run.id} has expired: a stream is kept until ${formatDuration(this.#retentionMs)} after its last event`,
          { field: 'runId' },
        );
      }
      if (isTerminal(run.status)) {
        if (after) throw streamLost(run.id, after);
        throw new StreamLost(
          `The stream of run ${run.id} was lost: the stream store no longer holds it although the run ended ` +
            `${Math.round((Date.now() - lastActivity) / 1000)} s ago`,
          { field: 'runId' },
        );
      }
      missing = 'lost';
    }
    return this.#stream.read(run.id, {
      after,
      startingAfter: input.startingAfter ?? undefined,
      batchSize: input.batchSize ?? undefined,
      signal,
      missing,
    });
  }

  /**
   * The RunManager's `onTerminal` hook (inside the run's update, before it commits): ends a background run's stream,
   * appending `final`'s events, then the run's stop reason unless it is already the stream's latest. A stream that
   * already ended is left as it is; its `final` events are then refused (CONFLICT), which rolls the update back.
   */
  async onRunTerminal(actor: Actor, run: Run, final?: TerminalEnd): Promise<void> {
    this.#appendLookups.delete(`${actor.organizationId} ${run.id}`);
    if (!run.background) return;
    const result = await this.#stream.end(run.id, {
      stopReason: run.stopReason,
      fallback: FALLBACK_STOP_REASON[run.status],
      events: final?.events as RunEvent[] | undefined,
    });
    if (!final) return;
    if (!result.ended)
      throw new Conflict(`Run ${run.id} was ended by another call: its stream has ended`, { field: 'events' });
    final.ids = result.positions.slice(0, final.events.length).map(formatEventId);
  }

  /**
   * Fails background runs whose stream has had no event for `staleAfterMs` (CONTRACTS §6): `error_message`
   * (`stream_incomplete`) and stop_reason `error` are appended, the stream ends, the run becomes `failed`.
   * Safe with several processes: the terminal update decides, and a run finished meanwhile is left alone.
   * @returns how many runs this call failed.
   */
  async sweepStale(now = Date.now()): Promise<number> {
    const cutoff = new Date(now - this.#staleAfterMs).toISOString();
    let failed = 0;
    for await (const candidate of staleRunCandidates(this.#db, cutoff)) {
      if (await this.#failIfStale(candidate, now)) failed += 1;
    }
    return failed;
  }

  async #failIfStale(candidate: StaleCandidate, now: number): Promise<boolean> {
    const info = await this.#stream.info(candidate.id);
    const lastActivity = Math.max(new Date(toIso(candidate.updatedAt)).getTime(), info?.lastWriteAt ?? 0);
    if (now - lastActivity < this.#staleAfterMs) return false;
    const actor: Actor = { organizationId: candidate.organizationId, userId: candidate.createdById ?? DEFAULT_USER_ID };
    // A stream that ended without its run (the run's update failed after the stream's end) gets no more events.
    const final: TerminalEnd | undefined = info?.ended
      ? undefined
      : {
          events: [
            { messageType: 'stop_reason', stopReason: 'error' },
            {
              messageType: 'error_message',
              errorType: 'stream_incomplete',
              message: STREAM_INCOMPLETE_MESSAGE,
              detail: null,
            },
          ],
        };
    try {
      await this.#runs.update(actor, { runId: candidate.id, status: 'failed', stopReason: 'error' }, final);
      this.#logger.warn(
        { runId: candidate.id, silentMs: now - lastActivity },
        'background run failed: its stream had no event for too long',
      );
      return true;
    } catch (err) {
      // A concurrent finisher (the producer, another process's sweeper) won: nothing to do.
      if (err instanceof Conflict) return false;
      throw err;
    }
  }

  /** Starts the periodic stale sweep (the runtime calls it; tests call {@link sweepStale} directly). */
  start(): void {
    if (this.#sweeper) return;
    this.#sweeper = setInterval(() => {
      if (this.#sweeping) return;
      this.#sweeping = this.sweepStale()
        .catch((err: unknown) => this.#logger.error({ err }, 'the stale run sweep failed'))
        .finally(() => {
          this.#sweeping = null;
        });
    }, this.#sweepIntervalMs);
    this.#sweeper.unref();
  }

  /** Stops the sweeper (waiting for a sweep in progress); the stream store is closed by its owner. */
  async close(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#sweeper = null;
    await this.#sweeping;
  }
}
