/**
 * "Runs from spans": the OTLP ingest stage that turns an organization's GenAI spans into ledger records — one run per
 * trace, a step per LLM call with its messages and provider trace — through the same managers an SDK's calls use, so
 * totals, pricing, rollups and run events stay right. Every record's id is derived from (organization, trace, span),
 * so a repeated export, or a retry after Postgres was unavailable, records nothing twice. The traces of one request
 * are recorded together, each kind of record in one batch call of its manager (record-traces.ts); two requests with
 * spans of the same trace, mapped at once, wait for each other on the trace's run row.
 *
 * Spans of a trace may come in several export requests, in any order (children usually before their root): the first
 * GenAI span of a trace creates its run (running); the root span (empty parentSpanId) ends it. Documented limits:
 * several invoke_agent spans in one trace are one run; a trace whose root arrives before any of its GenAI spans,
 * with a root that is no GenAI span itself, keeps its run running; a step arriving after its run ended is added to
 * the run's totals but does not change its status or TTFT; the run's agent is the one named by the first span that
 * created it (agent spans are preferred within one request).
 */
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import type { Actor } from '../../actor.ts';
import type { Db } from '../../db/connect.ts';
import { databaseUnavailable } from '../../db/database-unavailable.ts';
import { Conflict, InvalidArgument, NotFound } from '../../errors.ts';
import type { MessageManager } from '../../messages/message-manager.ts';
import type { RunManager } from '../../runs/run-manager.ts';
import type { StepManager } from '../../steps/step-manager.ts';
import type { ProviderTraceService } from '../../telemetry/provider-trace-service.ts';
import type { OtlpRows } from '../otlp-to-rows.ts';
import { deterministicId } from './deterministic-id.ts';
import {
  GEN_AI_SPAN_KINDS,
  type GenAiSpan,
  type GenAiSpanKind,
  MAPPING_FAILURE_REASONS,
  type MappingFailureReason,
  SpanDataError,
  type SpanRow,
} from './gen-ai-span.ts';
import { readGenAiSpan } from './read-gen-ai-span.ts';
import { RUN_METADATA, recordTraces, type TraceRecorder, type TraceToRecord } from './record-traces.ts';
import type { RunsFromSpansSettings } from './runs-from-spans-settings.ts';
import { mayMap, parseSpanRow } from './span-row.ts';

export { RUN_METADATA };

/** Within one start time: an agent's span, then its LLM calls, then the tools they asked for. */
const KIND_ORDER: Record<GenAiSpanKind, number> = { agent: 0, llm: 1, tool: 2 };

export interface RunsFromSpansOptions {
  db: Db;
  runs: RunManager;
  steps: StepManager;
  messages: MessageManager;
  providerTraces: ProviderTraceService;
  settings: RunsFromSpansSettings;
  logger: Logger;
}

/** Spans mapped by kind, and spans whose mapping failed by reason, since the process started. */
export interface MappingStats {
  mapped: Record<GenAiSpanKind, number>;
  failures: Record<MappingFailureReason, number>;
}

interface TraceGroup {
  traceId: string;
  /** GenAI spans other than the root, oldest first. */
  spans: GenAiSpan[];
  root: { row: SpanRow; span: GenAiSpan | null } | null;
}

export class RunsFromSpans {
  readonly #recorder: TraceRecorder;
  readonly #settings: RunsFromSpansSettings;
  readonly #logger: Logger;
  readonly #mapped = Object.fromEntries(GEN_AI_SPAN_KINDS.map((k) => [k, 0])) as Record<GenAiSpanKind, number>;
  readonly #failures = Object.fromEntries(MAPPING_FAILURE_REASONS.map((r) => [r, 0])) as Record<
    MappingFailureReason,
    number
  >;

  constructor(options: RunsFromSpansOptions) {
    this.#settings = options.settings;
    this.#logger = options.logger;
    this.#recorder = {
      db: options.db,
      runs: options.runs,
      steps: options.steps,
      messages: options.messages,
      providerTraces: options.providerTraces,
      mapped: (kind) => {
        this.#mapped[kind] += 1;
      },
      failed: (err, spans) => {
        this.#failures[this.#reasonOf(err)] += spans;
      },
    };
  }

  stats(): MappingStats {
    return { mapped: { ...this.#mapped }, failures: { ...this.#failures } };
  }

  /**
   * Maps the GenAI spans of one decoded export request, when the organization or their resource opted in. Spans whose
   * data cannot be mapped are counted and skipped (they are still stored by the caller).
   * @throws Unavailable when Postgres is down or too slow: the caller fails the export (retryable; nothing is
   * recorded twice on the retry).
   */
  async map(actor: Actor, decoded: OtlpRows): Promise<void> {
    try {
      await this.#map(actor, decoded);
    } catch (err) {
      // the driver's own error (a statement timeout, a lost connection) becomes the retryable Unavailable
      throw databaseUnavailable(err) ?? err;
    }
  }

  async #map(actor: Actor, decoded: OtlpRows): Promise<void> {
    const { spanLines, runsFromSpansOverrides: overrides } = decoded;
    if (spanLines.length === 0) return;
    const orgOn = await this.#settings.enabled(actor.organizationId);
    if (!orgOn && !overrides.some((o) => o.enabled)) return;
    const traces = new Map<string, TraceGroup>();
    let next = 0;
    for (const range of [...overrides, { firstRow: spanLines.length, endRow: spanLines.length, enabled: false }]) {
      if (orgOn) this.#collect(spanLines, next, range.firstRow, traces);
      if (range.enabled) this.#collect(spanLines, range.firstRow, range.endRow, traces);
      next = range.endRow;
    }
    if (traces.size === 0) return;
    const runIdOf = (traceId: string) => deterministicId('run', actor.organizationId, 'run', traceId);
    // One read for the runs of every trace of the request, not one per trace.
    const runs = await this.#recorder.runs.findMany(actor, [...traces.keys()].map(runIdOf));
    const work: TraceToRecord[] = [];
    for (const group of traces.values()) {
      const runId = runIdOf(group.traceId);
      const run = runs.get(runId) ?? null;
      // a plain root span (no GenAI span in this request) of a trace without a run: a service's ordinary request
      if (!run && group.spans.length === 0 && !group.root?.span) continue;
      // By start; on a tie an LLM call before the tool it asked for (SDKs stamp whole milliseconds, and a tool often
      // starts in its call's last one), so that the call records the tool call with its step before the tool span
      // does. The root span comes after every other span of its trace.
      group.spans.sort((a, b) =>
        a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : KIND_ORDER[a.kind] - KIND_ORDER[b.kind],
      );
      const spans = group.root?.span ? [...group.spans, group.root.span] : group.spans;
      work.push({ traceId: group.traceId, runId, run, spans, root: group.root });
    }
    await recordTraces(this.#recorder, actor, work);
  }

  /** Parses the rows from `from` up to `to` that may be GenAI or root spans, into their traces' groups. */
  #collect(lines: readonly string[], from: number, to: number, traces: Map<string, TraceGroup>): void {
    for (let i = from; i < to; i++) {
      const line = lines[i] as string;
      if (!mayMap(line)) continue;
      const row = parseSpanRow(line);
      const isRoot = row.parentSpanId === '';
      let span: GenAiSpan | null;
      try {
        span = readGenAiSpan(row);
      } catch (err) {
        if (!(err instanceof SpanDataError)) throw err;
        this.#failures[err.reason] += 1;
        // a root whose data cannot be mapped still ends its trace's run, as a plain root would
        span = null;
      }
      if (!span && !isRoot) continue;
      let group = traces.get(row.traceId);
      if (!group) {
        group = { traceId: row.traceId, spans: [], root: null };
        traces.set(row.traceId, group);
      }
      if (isRoot) group.root = { row, span };
      else if (span) group.spans.push(span);
    }
  }

  /** The failure reason of a mapping error; rethrows Unavailable (Postgres down: the export must fail). */
  #reasonOf(err: unknown): MappingFailureReason {
    const unavailable = databaseUnavailable(err);
    if (unavailable) throw unavailable;
    if (err instanceof SpanDataError) return err.reason;
    if (err instanceof Conflict) return 'conflict';
    if (err instanceof InvalidArgument || err instanceof NotFound || err instanceof ZodError) return 'refused';
    this.#logger.error({ err }, 'mapping a GenAI span failed');
    return 'internal';
  }
}
