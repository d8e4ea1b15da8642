import { and, eq, isNotNull } from 'drizzle-orm';
import type { Actor } from '../actor.ts';
import { type ClickHouse, clickhouseOff, qualified } from '../clickhouse/connect.ts';
import { InsertBatcher, type InsertBatcherOptions, insertBody, RowsRefused } from '../clickhouse/insert-batcher.ts';
import type { Db } from '../db/connect.ts';
import { steps } from '../db/schema.ts';
import type { Logger } from '../logger.ts';
import { requireRun } from '../runs/require-run.ts';
import type { RunChangeFeed } from '../streams/run-changes.ts';
import { TimedTally } from '../telemetry/tally.ts';
import type { OtlpFormat } from './encode-export-response.ts';
import { liveSpansOfRows, MAX_SPANS_PER_MESSAGE, traceSpansTopic } from './live-spans.ts';
import { type OtlpRows, otlpToRows } from './otlp-to-rows.ts';
import {
  type RunTraceInput,
  runTraceInput,
  type TraceSpan,
  type TraceUpdatesInput,
  traceUpdatesInput,
} from './schemas.ts';
import { readTraceSpans } from './span-reader.ts';
import { TRACE_WATCH_INTERVAL_MS, type TraceUpdate, type TraceUpdatesOptions, traceUpdates } from './trace-updates.ts';

/**
 * How spans are batched into INSERTs. Every INSERT costs ClickHouse a part (a fixed cost per INSERT into otel_traces
 * and its view, thousands of times a span's), so batches are large, like the Collector's (8,192
 * spans, 200 ms): an INSERT goes once 8,192 spans wait and a slot is free, or after 200 ms, with up to 16,384 spans
 * (or 16 MiB) each and 2 in flight, so that the next batch forms while one is written.
 */
export const SPAN_BATCHING = {
  maxBatchRows: 16_384,
  minBatchRows: 8_192,
  flushIntervalMs: 200,
  maxConcurrentInserts: 2,
} as const satisfies Omit<InsertBatcherOptions, 'insert' | 'location' | 'rowsName'>;

/**
 * Where `runs.traceUpdates` subscribers announce their organization, every {@link TRACE_WATCH_INTERVAL_MS}: ingest
 * publishes live spans only for organizations announced within {@link TRACE_WATCH_TTL_MS}.
 */
export const TRACE_WATCHERS_TOPIC = 'trace-watchers';
export const TRACE_WATCH_TTL_MS = 5 * TRACE_WATCH_INTERVAL_MS;

/** One INSERT of `otel_traces` rows as JSONEachRow lines (what {@link otlpToRows} makes). */
export function insertSpanRows(ch: ClickHouse, body: string): Promise<void> {
  return insertBody(ch, qualified(ch, 'otel_traces'), { input_format_skip_unknown_fields: 0 }, body);
}

export interface OtelTracesOptions {
  /** The process's ClickHouse (migrations applied), or null when CLICKHOUSE_URL=off. */
  clickhouse: ClickHouse | null;
  db: Db;
  /** How spans are batched into INSERTs. @default {@link SPAN_BATCHING} */
  batching?: Omit<InsertBatcherOptions, 'insert' | 'location' | 'rowsName'>;
  /**
   * Where written spans are published for `runs.traceUpdates` (the run-change feed: in-process, or Redis so that
   * every api process hears them). Without it nothing is published and {@link OtelTraces.updates} is unavailable.
   */
  feed?: Pick<RunChangeFeed, 'publishTopic' | 'subscribeTopic'> | undefined;
  /** Tells why publishing live spans failed (the spans are written all the same). */
  logger?: Logger | undefined;
  /** How `runs.traceUpdates` follows a run. */
  live?: TraceUpdatesOptions | undefined;
}

/** A stage that maps an export request's decoded spans into other records before they are written (traces/genai/). */
export interface SpanMappingStage {
  /** @throws Unavailable when its store is down: the export fails (retryable) and no span is written. */
  map(actor: Actor, decoded: OtlpRows): Promise<void>;
}

/** OTLP ingest as `GET /metrics` reports it (span-metrics.ts). */
export interface SpanIngestStats {
  /** Spans accepted and not yet written. */
  queueDepth: number;
  queueBytes: number;
  /** Spans written to ClickHouse. */
  written: number;
  /** Spans refused for invalid data (the OTLP partial success), by the decoder or by ClickHouse. */
  rejected: number;
  /** Spans whose INSERT failed (ClickHouse down or behind: the exporter got 503 and may retry). */
  failed: number;
  /** Requests by outcome, over every caller (including those whose key was refused). */
  requests: Record<OtlpRequestOutcome, number>;
}

/**
 * What became of `POST /v1/traces` requests: `accepted` (every span written), `partial` (some refused for their data),
 * or the refusal of the whole request by its HTTP status.
 */
export const OTLP_REQUEST_OUTCOMES = [
  'accepted',
  'partial',
  'malformed',
  'unauthorized',
  'too_large',
  'unsupported',
  'not_implemented',
  'unavailable',
  'internal',
] as const;
export type OtlpRequestOutcome = (typeof OTLP_REQUEST_OUTCOMES)[number];

const OUTCOME_BY_STATUS: Record<number, OtlpRequestOutcome> = {
  400: 'malformed',
  401: 'unauthorized',
  413: 'too_large',
  415: 'unsupported',
  501: 'not_implemented',
  503: 'unavailable',
};

/** A response's status (and whether spans were refused) → its outcome; an unexpected status counts as `internal`. */
export function otlpOutcomeOf(status: number, partial: boolean): OtlpRequestOutcome {
  if (status >= 200 && status < 300) return partial ? 'partial' : 'accepted';
  return OUTCOME_BY_STATUS[status] ?? (status >= 400 && status < 500 ? 'malformed' : 'internal');
}

/** The reason counted for spans ClickHouse refused in a shared INSERT (its message names counts, not data). */
const REFUSED_BY_CLICKHOUSE = 'refused by ClickHouse for their data';

/**
 * One organization's OTLP ingest, as its health view shows it: spans and requests by what became of them, refused
 * spans by reason, and when spans were last written, failed or were refused (epoch ms, or null).
 */
export interface OrganizationIngestStats {
  spans: { written: number; rejected: number; failed: number };
  requests: Record<OtlpRequestOutcome, number>;
  rejectedByReason: { reason: string; spans: number }[];
  lastWrittenAt: number | null;
  lastFailureAt: number | null;
  lastRejectedAt: number | null;
}

/** What became of an export request's spans. */
export interface IngestResult {
  /** Spans written. */
  accepted: number;
  /** Spans refused for invalid data (OTLP partial success), with the reasons. */
  rejected: number;
  errorMessage: string;
}

/**
 * OpenTelemetry spans in ClickHouse (`otel_traces`): OTLP export requests in, a run's trace out. Writes are batched
 * across requests (many small exports make one INSERT); an ingest resolves once its spans are written, so an
 * exporter that gets a success may forget them. Every read is scoped to the actor's organization.
 */
export class OtelTraces {
  readonly #ch: ClickHouse | null;
  readonly #db: Db;
  readonly #batcher: InsertBatcher | null;
  readonly #feed: OtelTracesOptions['feed'];
  readonly #logger: Logger | undefined;
  readonly #live: TraceUpdatesOptions;
  /** Spans and requests by result, in total and per organization (the health view shows a caller only its own). */
  readonly #spans = { written: new TimedTally(), rejected: new TimedTally(), failed: new TimedTally() };
  readonly #reasons = new Map<string, TimedTally>();
  readonly #requests = new Map<OtlpRequestOutcome, TimedTally>(OTLP_REQUEST_OUTCOMES.map((o) => [o, new TimedTally()]));
  /** Requests refused before their caller was known (no key or a bad one, an unsupported type): no organization. */
  readonly #unattributed = new Map<OtlpRequestOutcome, number>();
  #mapping: SpanMappingStage | null = null;
  /** When each organization's trace subscribers last announced themselves (epoch ms), from every process. */
  readonly #watched = new Map<string, number>();
  /** Ends the announcements' subscription on close. */
  readonly #watching = new AbortController();
  /** False until the announcements are heard, and after they broke: then every organization counts as watched. */
  #hearing = false;

  constructor(options: OtelTracesOptions) {
    this.#ch = options.clickhouse;
    this.#db = options.db;
    this.#feed = options.feed;
    this.#logger = options.logger;
    this.#live = options.live ?? {};
    if (this.#feed) void this.#hearWatchers(this.#feed);
    const ch = this.#ch;
    this.#batcher = ch
      ? new InsertBatcher({
          ...SPAN_BATCHING,
          ...options.batching,
          location: ch.location,
          rowsName: 'spans',
          insert: (body) => insertSpanRows(ch, body),
        })
      : null;
  }

  /**
   * Maps each export's GenAI spans into runs before the spans are written (runtime.ts attaches it once the managers
   * it writes through exist).
   */
  useMapping(stage: SpanMappingStage): void {
    this.#mapping = stage;
  }

  /** False when CLICKHOUSE_URL=off: ingest and forRun answer NotImplemented naming the variable. */
  get enabled(): boolean {
    return this.#ch !== null;
  }

  /**
   * Decodes an OTLP export request (`ExportTraceServiceRequest`, JSON or protobuf), stamps the actor's organization
   * on its spans and writes them. Spans with invalid ids or times are refused and counted, the rest written; so are
   * spans ClickHouse itself refuses (found alone by splitting the shared INSERT, so other requests are not failed).
   * @throws InvalidArgument for a body that is not such a request; Unavailable when ClickHouse is down or behind.
   */
  async ingest(actor: Actor, body: Uint8Array, format: OtlpFormat): Promise<IngestResult> {
    if (!this.#batcher) throw clickhouseOff('OpenTelemetry trace ingest (OTLP/HTTP and OTLP/gRPC)');
    const org = actor.organizationId;
    const decoded = otlpToRows(body, format, org);
    this.#spans.rejected.add(org, decoded.rejected);
    for (const [reason, n] of decoded.reasons) this.#reason(reason).add(org, n);
    // Mapped before the spans are written: a mapping that cannot reach Postgres fails the export (retryable).
    await this.#mapping?.map(actor, decoded);
    try {
      await this.#batcher.add(decoded.lines, decoded.rows);
    } catch (err) {
      if (!(err instanceof RowsRefused)) {
        this.#spans.failed.add(org, decoded.rows);
        throw err;
      }
      this.#spans.written.add(org, err.written);
      this.#spans.rejected.add(org, err.refused);
      this.#reason(REFUSED_BY_CLICKHOUSE).add(org, err.refused);
      const rejected = decoded.rejected + err.refused;
      return {
        accepted: err.written,
        rejected,
        errorMessage: [decoded.errorMessage, err.message].filter(Boolean).join('; '),
      };
    }
    this.#spans.written.add(org, decoded.rows);
    await this.#publish(org, decoded.lines);
    return { accepted: decoded.rows, rejected: decoded.rejected, errorMessage: decoded.errorMessage };
  }

  /**
   * Publishes written spans that a trace view draws, per trace, for `runs.traceUpdates`. Never fails the ingest
   * (the spans are stored): a failure is logged, and subscribers whose feed broke reconnect and re-read. Spans of a
   * request ClickHouse refused in part are not published (which of them went in is not known); a subscriber sees
   * them on its next snapshot.
   */
  async #publish(organizationId: string, lines: string): Promise<void> {
    const feed = this.#feed;
    if (!feed || !lines) return;
    // Parsing and publishing every view span of every export cost ingest as much as decoding it: only organizations
    // with a subscriber (in any process) pay for it.
    if (this.#hearing && !(Date.now() - (this.#watched.get(organizationId) ?? 0) < TRACE_WATCH_TTL_MS)) return;
    try {
      const sends: Promise<void>[] = [];
      for (const [traceId, spans] of liveSpansOfRows(lines)) {
        const topic = traceSpansTopic(organizationId, traceId);
        for (let i = 0; i < spans.length; i += MAX_SPANS_PER_MESSAGE) {
          sends.push(feed.publishTopic(topic, { spans: spans.slice(i, i + MAX_SPANS_PER_MESSAGE) }));
        }
      }
      await Promise.all(sends);
    } catch (err) {
      this.#logger?.warn({ err }, 'publishing ingested spans to runs.traceUpdates subscribers failed');
    }
  }

  /**
   * Hears the announcements of trace subscribers ({@link TRACE_WATCHERS_TOPIC}) from every process. While it cannot
   * (before its subscription is made, after it broke) every organization counts as watched, so no subscriber misses a
   * span; a broken subscription is made again a second later.
   */
  async #hearWatchers(feed: NonNullable<OtelTracesOptions['feed']>): Promise<void> {
    while (!this.#watching.signal.aborted) {
      try {
        const announcements = await feed.subscribeTopic(TRACE_WATCHERS_TOPIC, this.#watching.signal);
        this.#hearing = true;
        for await (const message of announcements) {
          const org = (message as { organizationId?: unknown }).organizationId;
          if (typeof org === 'string') this.#watched.set(org, Date.now());
        }
      } catch {
        // the feed closed or Redis dropped: publish for everyone until heard again
      }
      this.#hearing = false;
      if (this.#watching.signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, 1000).unref());
    }
  }

  /**
   * A run's trace for a trace view: the spans of every trace id its steps carry (merged), filtered to agent steps,
   * tool executions, root spans and time to first token (and LLM calls when `llmSpans`), oldest first. A run whose steps carry no trace id has an
   * empty trace; another organization's run is NotFound.
   */
  async forRun(actor: Actor, raw: RunTraceInput): Promise<TraceSpan[]> {
    const input = runTraceInput.parse(raw);
    // As Letta: with ClickHouse off the answer is NotImplemented, whatever the run.
    if (!this.#ch) throw clickhouseOff('runs.trace');
    await requireRun(this.#db, actor, input.runId);
    return readTraceSpans(this.#ch, {
      organizationId: actor.organizationId,
      traceIds: await this.#traceIdsOf(actor, input.runId),
      limit: input.limit,
      llmSpans: input.llmSpans,
    });
  }

  /**
   * `runs.traceUpdates`: the run's trace as {@link forRun} answers it, then the spans of its traces (including trace
   * ids its steps gain meanwhile) as they are ingested, in any process sharing the feed (see {@link TraceUpdate}).
   * The checks (ClickHouse off → NotImplemented, another organization's run → NotFound) happen before it resolves;
   * the iterable ends when `signal` aborts.
   */
  async updates(actor: Actor, raw: TraceUpdatesInput, signal: AbortSignal): Promise<AsyncIterable<TraceUpdate>> {
    const input = traceUpdatesInput.parse(raw);
    const ch = this.#ch;
    if (!ch) throw clickhouseOff('runs.traceUpdates');
    await requireRun(this.#db, actor, input.runId);
    const feed = this.#feed;
    if (!feed) throw new Error('OtelTraces.updates needs the feed option');
    const organizationId = actor.organizationId;
    return traceUpdates(
      {
        organizationId,
        llmSpans: input.llmSpans,
        signal,
        traceIds: () => this.#traceIdsOf(actor, input.runId),
        read: (traceIds) =>
          readTraceSpans(ch, { organizationId, traceIds, limit: input.limit, llmSpans: input.llmSpans }),
        subscribe: (topic, s) => feed.subscribeTopic(topic, s),
        announce: () => feed.publishTopic(TRACE_WATCHERS_TOPIC, { organizationId }),
      },
      this.#live,
    );
  }

  /** The distinct trace ids the run's steps carry, lowercase. */
  async #traceIdsOf(actor: Actor, runId: string): Promise<string[]> {
    const rows = await this.#db
      .selectDistinct({ traceId: steps.traceId })
      .from(steps)
      .where(and(eq(steps.runId, runId), eq(steps.organizationId, actor.organizationId), isNotNull(steps.traceId)));
    return [...new Set(rows.map((r) => (r.traceId ?? '').trim().toLowerCase()).filter(Boolean))];
  }

  /** Writes out the spans accepted so far. */
  async flush(): Promise<void> {
    await this.#batcher?.flush();
  }

  /**
   * Counts one answered `POST /v1/traces` request under its caller's organization, or (`null`: refused before the
   * caller was known) under no organization: then only in the totals.
   */
  recordRequest(organizationId: string | null, outcome: OtlpRequestOutcome): void {
    if (organizationId === null) this.#unattributed.set(outcome, (this.#unattributed.get(outcome) ?? 0) + 1);
    else this.#requests.get(outcome)?.add(organizationId);
  }

  /** Spans accepted and not yet written, and what became of every span and request received so far. */
  stats(): SpanIngestStats {
    const requests = Object.fromEntries(
      OTLP_REQUEST_OUTCOMES.map((o) => [o, (this.#requests.get(o)?.total ?? 0) + (this.#unattributed.get(o) ?? 0)]),
    ) as Record<OtlpRequestOutcome, number>;
    return {
      ...(this.#batcher?.stats() ?? { queueDepth: 0, queueBytes: 0 }),
      written: this.#spans.written.total,
      rejected: this.#spans.rejected.total,
      failed: this.#spans.failed.total,
      requests,
    };
  }

  /**
   * Requests refused before their caller was known (no key, a bad key, an unsupported content type), by outcome:
   * process-wide figures that belong to no organization and name none.
   */
  unattributedRequests(): { outcome: OtlpRequestOutcome; requests: number }[] {
    return [...this.#unattributed].map(([outcome, requests]) => ({ outcome, requests }));
  }

  /** One organization's share of {@link stats}' counters (nothing of any other organization). */
  statsFor(organizationId: string): OrganizationIngestStats {
    const requests = Object.fromEntries(
      OTLP_REQUEST_OUTCOMES.map((o) => [o, this.#requests.get(o)?.of(organizationId) ?? 0]),
    ) as Record<OtlpRequestOutcome, number>;
    const rejectedByReason = [...this.#reasons]
      .map(([reason, tally]) => ({ reason, spans: tally.of(organizationId) }))
      .filter((r) => r.spans > 0)
      .sort((a, b) => b.spans - a.spans);
    return {
      spans: {
        written: this.#spans.written.of(organizationId),
        rejected: this.#spans.rejected.of(organizationId),
        failed: this.#spans.failed.of(organizationId),
      },
      requests,
      rejectedByReason,
      lastWrittenAt: this.#spans.written.lastAt(organizationId),
      lastFailureAt: this.#spans.failed.lastAt(organizationId),
      lastRejectedAt: this.#spans.rejected.lastAt(organizationId),
    };
  }

  #reason(reason: string): TimedTally {
    let tally = this.#reasons.get(reason);
    if (!tally) {
      tally = new TimedTally();
      this.#reasons.set(reason, tally);
    }
    return tally;
  }

  /** Refuses new spans and writes out the accepted ones. The ClickHouse connection is its owner's to close. */
  async close(): Promise<void> {
    this.#watching.abort();
    await this.#batcher?.close();
  }
}
