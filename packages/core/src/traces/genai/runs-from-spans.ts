/**
 * "Runs from spans": the OTLP ingest stage that turns an organization's GenAI spans into ledger records — one run per
 * trace, a step per LLM call with its messages and provider trace — through the same managers an SDK's calls use, so
 * totals, pricing, rollups and run events stay right. Every record's id is derived from (organization, trace, span),
 * so a repeated export, or a retry after Postgres was unavailable, records nothing twice.
 *
 * Spans of a trace may come in several export requests, in any order (children usually before their root): the first
 * GenAI span of a trace creates its run (running); the root span (empty parentSpanId) ends it. Documented limits:
 * several invoke_agent spans in one trace are one run; a trace whose root arrives before any of its GenAI spans,
 * with a root that is no GenAI span itself, keeps its run running; a step arriving after its run ended is added to
 * the run's totals but does not change its status or TTFT; the run's agent is the one named by the first span that
 * created it (agent spans are preferred within one request).
 */
import { and, desc, eq, inArray, isNotNull } from 'drizzle-orm';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import type { Actor } from '../../actor.ts';
import type { Db } from '../../db/connect.ts';
import { databaseUnavailable } from '../../db/database-unavailable.ts';
import { messages, runs, steps } from '../../db/schema.ts';
import { Conflict, InvalidArgument, NotFound } from '../../errors.ts';
import type { MessageManager } from '../../messages/message-manager.ts';
import type { RunManager } from '../../runs/run-manager.ts';
import { MAX_AGENT_NAME_LENGTH, type Run } from '../../runs/schemas.ts';
import { isTerminal, type StopReason } from '../../runs/status.ts';
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
import { lettaMessagesOf, type MappedMessage, newInputMessages } from './letta-messages-of.ts';
import { nsToIso, providerTraceBodiesOf, stepInputOf, stopReasonOf } from './llm-call-records.ts';
import { readGenAiSpan } from './read-gen-ai-span.ts';
import type { RunsFromSpansSettings } from './runs-from-spans-settings.ts';
import { mayMap, parseSpanRow } from './span-row.ts';

/** Within one start time: an agent's span, then its LLM calls, then the tools they asked for. */
const KIND_ORDER: Record<GenAiSpanKind, number> = { agent: 0, llm: 1, tool: 2 };

/** Run metadata keys the stage keeps between export requests (flat: runs.update merges metadata shallowly). */
export const RUN_METADATA = {
  traceId: 'otel.trace_id',
  /** Epoch ns of the earliest first token seen among the trace's LLM calls (the run's TTFT once the root ends it). */
  firstTokenNs: 'otel.first_token_ns',
  /** An agent span of the trace ended with StatusCode Error: the run fails when its root arrives. */
  agentError: 'otel.agent_error',
} as const;

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
  readonly #db: Db;
  readonly #runs: RunManager;
  readonly #steps: StepManager;
  readonly #messages: MessageManager;
  readonly #providerTraces: ProviderTraceService;
  readonly #settings: RunsFromSpansSettings;
  readonly #logger: Logger;
  readonly #mapped = Object.fromEntries(GEN_AI_SPAN_KINDS.map((k) => [k, 0])) as Record<GenAiSpanKind, number>;
  readonly #failures = Object.fromEntries(MAPPING_FAILURE_REASONS.map((r) => [r, 0])) as Record<
    MappingFailureReason,
    number
  >;

  constructor(options: RunsFromSpansOptions) {
    this.#db = options.db;
    this.#runs = options.runs;
    this.#steps = options.steps;
    this.#messages = options.messages;
    this.#providerTraces = options.providerTraces;
    this.#settings = options.settings;
    this.#logger = options.logger;
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
    await this.#dropPlainTraces(actor, traces);
    for (const group of traces.values()) await this.#trace(actor, group);
  }

  /**
   * Leaves out the traces of this request that are only a plain root span (no GenAI span in this request) and have no
   * run: an instrumented service's ordinary requests. One query for all of them, not one per trace.
   */
  async #dropPlainTraces(actor: Actor, traces: Map<string, TraceGroup>): Promise<void> {
    const plain = new Map<string, string>();
    for (const group of traces.values()) {
      if (group.spans.length === 0 && !group.root?.span) {
        plain.set(deterministicId('run', actor.organizationId, 'run', group.traceId), group.traceId);
      }
    }
    if (plain.size === 0) return;
    const found = await this.#db
      .select({ id: runs.id })
      .from(runs)
      .where(and(eq(runs.organizationId, actor.organizationId), inArray(runs.id, [...plain.keys()])));
    for (const { id } of found) plain.delete(id);
    for (const traceId of plain.values()) traces.delete(traceId);
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

  async #trace(actor: Actor, group: TraceGroup): Promise<void> {
    const runId = deterministicId('run', actor.organizationId, 'run', group.traceId);
    const all = group.root?.span ? [...group.spans, group.root.span] : group.spans;
    let run = await this.#findRun(actor, runId);
    if (!run) {
      if (all.length === 0) return; // a root span of a trace without GenAI spans
      try {
        run = await this.#createRun(actor, runId, group.traceId, all);
      } catch (err) {
        const reason = this.#reasonOf(err);
        this.#failures[reason] += all.length;
        return;
      }
    }
    const state = { run };
    // By start; on a tie an LLM call before the tool it asked for (SDKs stamp whole milliseconds, and a tool often
    // starts in its call's last one), so that the call records the tool call with its step before the tool span does.
    group.spans.sort((a, b) =>
      a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : KIND_ORDER[a.kind] - KIND_ORDER[b.kind],
    );
    for (const span of group.spans) await this.#guarded(span.kind, () => this.#span(actor, state, span));
    const root = group.root;
    if (!root) return;
    const rootSpan = root.span;
    if (rootSpan) await this.#guarded(rootSpan.kind, () => this.#span(actor, state, rootSpan));
    await this.#guarded(null, () => this.#end(actor, state, root.row, rootSpan));
  }

  /** Runs one span's mapping: counted as mapped, or as a failure by reason; Unavailable is the caller's. */
  async #guarded(kind: GenAiSpanKind | null, map: () => Promise<void>): Promise<void> {
    try {
      await map();
      if (kind) this.#mapped[kind] += 1;
    } catch (err) {
      this.#failures[this.#reasonOf(err)] += 1;
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

  async #findRun(actor: Actor, runId: string): Promise<Run | null> {
    try {
      return await this.#runs.retrieve(actor, { runId });
    } catch (err) {
      if (err instanceof NotFound) return null;
      throw err;
    }
  }

  /** Creates the trace's run (and its agent on first use), running. A concurrent create of the same run is answered. */
  async #createRun(actor: Actor, runId: string, traceId: string, spans: GenAiSpan[]): Promise<Run> {
    const named =
      spans.find((s) => s.kind === 'agent' && (s.agentId || s.agentName)) ??
      spans.find((s) => s.agentId || s.agentName) ??
      spans[0];
    const key = named?.agentId ?? named?.agentName ?? (named?.serviceName || 'otel');
    const name = (named?.agentName ?? (named?.serviceName || 'otel')).slice(0, MAX_AGENT_NAME_LENGTH);
    const agentId = deterministicId('agent', actor.organizationId, 'agent', key);
    let run: Run;
    try {
      run = await this.#runs.create(actor, {
        id: runId,
        agentId,
        agentName: name,
        metadata: { [RUN_METADATA.traceId]: traceId },
      });
    } catch (err) {
      // another request created it first, naming another agent: that run is the trace's
      if (!(err instanceof Conflict)) throw err;
      const existing = await this.#findRun(actor, runId);
      if (!existing) throw err;
      return existing;
    }
    if (run.status !== 'created') return run;
    try {
      return await this.#runs.update(actor, { runId, status: 'running' });
    } catch (err) {
      // ended meanwhile by a concurrent request
      if (!(err instanceof Conflict)) throw err;
      return (await this.#findRun(actor, runId)) ?? run;
    }
  }

  async #span(actor: Actor, state: { run: Run }, span: GenAiSpan): Promise<void> {
    if (span.kind === 'llm') await this.#llm(actor, state, span);
    else if (span.kind === 'tool') await this.#tool(actor, state.run, span);
    else if (span.error && span.parentSpanId !== '' && !isTerminal(state.run.status)) {
      state.run = await this.#runs.update(actor, {
        runId: state.run.id,
        metadata: { [RUN_METADATA.agentError]: true },
      });
    }
  }

  /** An LLM call: its step, its messages and its provider trace; and the run's first token time. */
  async #llm(actor: Actor, state: { run: Run }, span: GenAiSpan): Promise<void> {
    const org = actor.organizationId;
    const run = state.run;
    const stepId = deterministicId('step', org, 'step', span.traceId, span.spanId);
    await this.#steps.create(actor, stepInputOf(span, run.id, stepId));
    const end = nsToIso(span.startNs + span.durationNs);
    await this.#append(actor, run.id, span, stepId, [
      ...lettaMessagesOf(newInputMessages(span.inputMessages), nsToIso(span.startNs)),
      ...lettaMessagesOf(span.outputMessages, end),
    ]);
    await this.#providerTraces.create(actor, {
      ...providerTraceBodiesOf(span),
      id: deterministicId('providerTrace', org, 'provider_trace', span.traceId, span.spanId),
      stepId,
      runId: run.id,
      agentId: run.agentId,
      callType: 'agent_step',
      createdAt: end,
    });
    if (span.ttftNs !== null && !isTerminal(run.status)) {
      const firstToken = span.startNs + span.ttftNs;
      const known = run.metadata?.[RUN_METADATA.firstTokenNs];
      if (typeof known !== 'string' || BigInt(known) > firstToken) {
        state.run = await this.#runs.update(actor, {
          runId: run.id,
          metadata: { [RUN_METADATA.firstTokenNs]: firstToken.toString() },
        });
      }
    }
  }

  /** A tool execution: its call and return messages, keyed by the call id (the LLM spans name the same ones). */
  async #tool(actor: Actor, run: Run, span: GenAiSpan): Promise<void> {
    const tool = span.tool;
    if (!tool) return;
    const callId = tool.callId ?? span.spanId;
    const list: MappedMessage[] = [];
    if (tool.name) {
      list.push({
        messageType: 'tool_call_message',
        toolCall: { name: tool.name, arguments: tool.arguments ?? '{}', toolCallId: callId },
        date: nsToIso(span.startNs),
        toolCallKey: { callId, side: 'call' },
      });
    }
    if (tool.result !== null || span.error) {
      list.push({
        messageType: 'tool_return_message',
        toolReturn: tool.result ?? span.error?.message ?? '',
        status: span.error ? 'error' : 'success',
        toolCallId: callId,
        date: nsToIso(span.startNs + span.durationNs),
        toolCallKey: { callId, side: 'return' },
      });
    }
    await this.#append(actor, run.id, span, null, list);
  }

  /**
   * Appends the span's messages with deterministic ids; those the organization already has (a repeated export, or a
   * tool call another span of the trace recorded) are skipped.
   */
  async #append(actor: Actor, runId: string, span: GenAiSpan, stepId: string | null, list: MappedMessage[]) {
    const org = actor.organizationId;
    const withIds = list.map(({ toolCallKey, ...m }, i) => ({
      ...m,
      id: toolCallKey
        ? deterministicId('message', org, `tool_${toolCallKey.side}`, span.traceId, toolCallKey.callId)
        : deterministicId('message', org, 'message', span.traceId, span.spanId, String(i)),
      stepId,
    }));
    // one tool call id may appear twice in a span (a repeated call id): the first is kept
    const unique = [...new Map(withIds.map((m) => [m.id, m])).values()];
    for (let attempt = 0; ; attempt++) {
      const fresh = await this.#missing(org, unique);
      if (fresh.length === 0) return;
      try {
        for (let i = 0; i < fresh.length; i += 1000) {
          await this.#messages.append(actor, { runId, messages: fresh.slice(i, i + 1000) });
        }
        return;
      } catch (err) {
        // a concurrent request appended some of them first: look again, once
        if (!(err instanceof Conflict) || attempt > 0) throw err;
      }
    }
  }

  async #missing<T extends { id: string }>(organizationId: string, list: T[]): Promise<T[]> {
    if (list.length === 0) return list;
    const rows = await this.#db
      .select({ id: messages.id })
      .from(messages)
      .where(
        and(
          eq(messages.organizationId, organizationId),
          inArray(
            messages.id,
            list.map((m) => m.id),
          ),
        ),
      );
    const taken = new Set(rows.map((r) => r.id));
    return list.filter((m) => !taken.has(m.id));
  }

  /** The root span ends the run: status and stop reason, its duration, and the TTFT of the first LLM call. */
  async #end(actor: Actor, state: { run: Run }, root: SpanRow, span: GenAiSpan | null): Promise<void> {
    const run =
      state.run.status === 'running' || state.run.status === 'created'
        ? await this.#runs.retrieve(actor, { runId: state.run.id })
        : state.run;
    if (isTerminal(run.status)) return; // a repeated export of the root
    const failed = root.statusCode === 'Error' || run.metadata?.[RUN_METADATA.agentError] === true;
    let stopReason: StopReason;
    if (failed) stopReason = span?.kind === 'llm' ? 'llm_api_error' : 'error';
    else if (span && stopReasonOf(span) === 'max_tokens_exceeded') stopReason = 'max_tokens_exceeded';
    else
      stopReason =
        (await this.#lastStepStopReason(actor, run.id)) === 'max_tokens_exceeded' ? 'max_tokens_exceeded' : 'end_turn';
    const firstToken = run.metadata?.[RUN_METADATA.firstTokenNs];
    let ttftNs = span?.ttftNs ?? null;
    if (ttftNs === null && typeof firstToken === 'string' && BigInt(firstToken) >= root.startNs) {
      ttftNs = BigInt(firstToken) - root.startNs;
    }
    try {
      state.run = await this.#runs.update(actor, {
        runId: run.id,
        stopReason,
        totalDurationNs: root.durationNs,
        ...(ttftNs !== null ? { ttftNs } : {}),
      });
    } catch (err) {
      // a concurrent request ended it first
      if (!(err instanceof Conflict)) throw err;
    }
  }

  /** The stop reason of the run's last LLM call (by start time), if it has one. */
  async #lastStepStopReason(actor: Actor, runId: string): Promise<string | null> {
    const [row] = await this.#db
      .select({ stopReason: steps.stopReason })
      .from(steps)
      .where(and(eq(steps.organizationId, actor.organizationId), eq(steps.runId, runId), isNotNull(steps.stepStartNs)))
      .orderBy(desc(steps.stepStartNs))
      .limit(1);
    return row?.stopReason ?? null;
  }
}
