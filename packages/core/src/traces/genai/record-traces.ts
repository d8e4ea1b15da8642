/**
 * Records the GenAI spans of one export request, every trace of it together: each kind of record is written for all
 * traces in one call of its manager's batch method (runs, steps, messages, provider traces, run updates), so that a
 * request of many traces costs a few transactions, not a few per span. The managers keep each write's rules; the
 * order of the calls is the order one span's mapping needs (a step before its messages and its provider trace, the
 * run's updates last), and within one run messages keep the spans' order.
 */
import { and, desc, eq, inArray, isNotNull } from 'drizzle-orm';
import type { Actor } from '../../actor.ts';
import type { Db } from '../../db/connect.ts';
import { messages, steps } from '../../db/schema.ts';
import { Conflict } from '../../errors.ts';
import type { MessageManager } from '../../messages/message-manager.ts';
import type { RunManager } from '../../runs/run-manager.ts';
import { MAX_AGENT_NAME_LENGTH, type Run, type UpdateRunInput } from '../../runs/schemas.ts';
import { isTerminal, type StopReason } from '../../runs/status.ts';
import type { StepManager } from '../../steps/step-manager.ts';
import type { ProviderTraceService } from '../../telemetry/provider-trace-service.ts';
import { deterministicId } from './deterministic-id.ts';
import type { GenAiSpan, GenAiSpanKind, SpanRow } from './gen-ai-span.ts';
import { lettaMessagesOf, type MappedMessage, newInputMessages } from './letta-messages-of.ts';
import { nsToIso, providerTraceBodiesOf, stepInputOf, stopReasonOf } from './llm-call-records.ts';

/** Run metadata keys the stage keeps between export requests (flat: runs.update merges metadata shallowly). */
export const RUN_METADATA = {
  traceId: 'otel.trace_id',
  /** Epoch ns of the earliest first token seen among the trace's LLM calls (the run's TTFT once the root ends it). */
  firstTokenNs: 'otel.first_token_ns',
  /** An agent span of the trace ended with StatusCode Error: the run fails when its root arrives. */
  agentError: 'otel.agent_error',
} as const;

/** At most this many messages per append batch (the manager's limit). */
const MESSAGES_PER_BATCH = 1000;

/** One trace of the request to record. */
export interface TraceToRecord {
  traceId: string;
  runId: string;
  /** Its run as read before recording; null when it has none yet. */
  run: Run | null;
  /** Its GenAI spans in recording order: by start (KIND_ORDER on a tie), the root span last. */
  spans: GenAiSpan[];
  /** Its root span, when the request has it: its arrival ends the run. */
  root: { row: SpanRow; span: GenAiSpan | null } | null;
}

export interface TraceRecorder {
  db: Db;
  runs: RunManager;
  steps: StepManager;
  messages: MessageManager;
  providerTraces: ProviderTraceService;
  /** Counts a span as mapped. */
  mapped(kind: GenAiSpanKind): void;
  /** Counts `spans` failures for `err`'s reason; rethrows Unavailable (Postgres down: the export must fail). */
  failed(err: unknown, spans: number): void;
}

interface SpanState {
  span: GenAiSpan;
  trace: TraceState;
  failed: boolean;
  stepId: string;
}

interface TraceState {
  work: TraceToRecord;
  run: Run;
  /** The run was created (or answered) in status created: this request starts it. */
  start: boolean;
  spans: SpanState[];
}

/** Records the traces of one request; spans that cannot be recorded are counted through `recorder.failed`. */
export async function recordTraces(recorder: TraceRecorder, actor: Actor, traces: TraceToRecord[]): Promise<void> {
  const states = await runsOf(recorder, actor, traces);
  const fail = (state: SpanState, err: unknown) => {
    if (state.failed) return;
    state.failed = true;
    recorder.failed(err, 1);
  };
  const live = (kind: GenAiSpanKind) => states.flatMap((t) => t.spans.filter((s) => !s.failed && s.span.kind === kind));

  const llmCalls = live('llm');
  await settle(llmCalls, fail, () =>
    recorder.steps.createMany(
      actor,
      llmCalls.map((s) => stepInputOf(s.span, s.trace.run.id, s.stepId)),
    ),
  );
  await appendMessages(recorder, actor, [...live('llm'), ...live('tool')], fail);
  const traced = live('llm');
  await settle(traced, fail, () =>
    recorder.providerTraces.createMany(
      actor,
      traced.map((s) => ({
        ...providerTraceBodiesOf(s.span),
        id: deterministicId('providerTrace', actor.organizationId, 'provider_trace', s.span.traceId, s.span.spanId),
        stepId: s.stepId,
        runId: s.trace.run.id,
        agentId: s.trace.run.agentId,
        callType: 'agent_step',
        createdAt: nsToIso(s.span.startNs + s.span.durationNs),
      })),
    ),
  );
  await updateRuns(recorder, actor, states);
}

/** The traces' runs: those read before, and one created (running) for each trace that has none yet. */
async function runsOf(recorder: TraceRecorder, actor: Actor, traces: TraceToRecord[]): Promise<TraceState[]> {
  const states: TraceState[] = [];
  const add = (work: TraceToRecord, run: Run, start: boolean) => {
    const state: TraceState = { work, run, start, spans: [] };
    const stepOf = (span: GenAiSpan) =>
      deterministicId('step', actor.organizationId, 'step', span.traceId, span.spanId);
    state.spans = work.spans.map((span) => ({
      span,
      trace: state,
      failed: false,
      stepId: span.kind === 'llm' ? stepOf(span) : '',
    }));
    states.push(state);
  };
  const missing = traces.filter((t) => !t.run && t.spans.length > 0);
  const created = await recorder.runs.createMany(
    actor,
    missing.map((t) => runInputOf(actor, t)),
  );
  const raced: { work: TraceToRecord; err: Conflict }[] = [];
  missing.forEach((work, i) => {
    const answer = created[i];
    if (answer instanceof Conflict) raced.push({ work, err: answer });
    else if (answer instanceof Error || !answer) recorder.failed(answer, work.spans.length);
    else add(work, answer.run, answer.run.status === 'created');
  });
  if (raced.length) {
    // another request created it first, naming another agent: that run is the trace's
    const found = await recorder.runs.findMany(
      actor,
      raced.map((r) => r.work.runId),
    );
    for (const { work, err } of raced) {
      const run = found.get(work.runId);
      if (run) add(work, run, false);
      else recorder.failed(err, work.spans.length);
    }
  }
  for (const work of traces) if (work.run) add(work, work.run, false);
  return states;
}

/** The trace's run, named after its agent (agent spans preferred), created on first use. */
function runInputOf(actor: Actor, work: TraceToRecord) {
  const spans = work.spans;
  const named =
    spans.find((s) => s.kind === 'agent' && (s.agentId || s.agentName)) ??
    spans.find((s) => s.agentId || s.agentName) ??
    spans[0];
  const key = named?.agentId ?? named?.agentName ?? (named?.serviceName || 'otel');
  const name = (named?.agentName ?? (named?.serviceName || 'otel')).slice(0, MAX_AGENT_NAME_LENGTH);
  return {
    id: work.runId,
    agentId: deterministicId('agent', actor.organizationId, 'agent', key),
    agentName: name,
    metadata: { [RUN_METADATA.traceId]: work.traceId },
  };
}

/**
 * Writes one batch for `spans` and fails each span whose answer is an error; an error of the whole batch fails them
 * all (Unavailable is rethrown by the recorder).
 */
async function settle<T>(
  spans: SpanState[],
  fail: (state: SpanState, err: unknown) => void,
  write: () => Promise<(T | Error)[]>,
): Promise<void> {
  if (spans.length === 0) return;
  let answers: (T | Error)[];
  try {
    answers = await write();
  } catch (err) {
    for (const s of spans) fail(s, err);
    return;
  }
  spans.forEach((s, i) => {
    const answer = answers[i];
    if (answer instanceof Error) fail(s, answer);
  });
}

/**
 * The spans' messages with deterministic ids, appended in one batch per span (split past the manager's limit);
 * those the organization already has (a repeated export, or a tool call an earlier span recorded) are skipped.
 */
async function appendMessages(
  recorder: TraceRecorder,
  actor: Actor,
  spans: SpanState[],
  fail: (state: SpanState, err: unknown) => void,
): Promise<void> {
  const org = actor.organizationId;
  const seen = new Set<string>();
  // in the recording order of each trace (the order the spans' messages take in their run)
  const ordered = spans.sort((a, b) => a.trace.spans.indexOf(a) - b.trace.spans.indexOf(b));
  const lists = ordered.map((s) => {
    const span = s.span;
    const withIds = messagesOf(span).map(({ toolCallKey, ...m }, i) => ({
      ...m,
      id: toolCallKey
        ? deterministicId('message', org, `tool_${toolCallKey.side}`, span.traceId, toolCallKey.callId)
        : deterministicId('message', org, 'message', span.traceId, span.spanId, String(i)),
      stepId: span.kind === 'llm' ? s.stepId : null,
    }));
    // one tool call id may appear twice in a request (a repeated call id, or an LLM call's and its tool's): the first
    // is kept
    const unique = withIds.filter((m) => !seen.has(m.id) && seen.add(m.id));
    return { state: s, messages: unique };
  });
  let takenBefore = -1;
  for (;;) {
    const taken = await existingMessageIds(
      recorder.db,
      org,
      lists.flatMap((l) => l.messages.map((m) => m.id)),
    );
    const batches = lists.flatMap(({ state, messages: list }) => {
      const fresh = list.filter((m) => !taken.has(m.id));
      const out: { state: SpanState; input: { runId: string; messages: typeof fresh } }[] = [];
      for (let i = 0; i < fresh.length; i += MESSAGES_PER_BATCH) {
        out.push({ state, input: { runId: state.trace.run.id, messages: fresh.slice(i, i + MESSAGES_PER_BATCH) } });
      }
      return out;
    });
    if (batches.length === 0) return;
    try {
      const answers = await recorder.messages.appendMany(
        actor,
        batches.map((b) => b.input),
      );
      batches.forEach((b, i) => {
        const answer = answers[i];
        if (answer instanceof Error) fail(b.state, answer);
      });
      return;
    } catch (err) {
      // A concurrent request appended some of them first (the append waited for it on the run's lock): look again,
      // as long as each look finds more of them recorded.
      if (err instanceof Conflict && taken.size > takenBefore) {
        takenBefore = taken.size;
        continue;
      }
      for (const b of batches) fail(b.state, err);
      return;
    }
  }
}

/** An LLM call's input (new ones) and output messages; a tool execution's call and return, keyed by the call id. */
function messagesOf(span: GenAiSpan): MappedMessage[] {
  if (span.kind === 'llm') {
    return [
      ...lettaMessagesOf(newInputMessages(span.inputMessages), nsToIso(span.startNs)),
      ...lettaMessagesOf(span.outputMessages, nsToIso(span.startNs + span.durationNs)),
    ];
  }
  const tool = span.tool;
  if (!tool) return [];
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
  return list;
}

async function existingMessageIds(db: Db, organizationId: string, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .select({ id: messages.id })
    .from(messages)
    .where(and(eq(messages.organizationId, organizationId), inArray(messages.id, ids)));
  return new Set(rows.map((r) => r.id));
}

/**
 * The runs' updates, in one batch: a run this request created starts running, with what its spans add to its metadata
 * (the earliest first token, an agent span's error); then the root span ends it — status and stop reason, its
 * duration, and the TTFT of the first LLM call.
 */
async function updateRuns(recorder: TraceRecorder, actor: Actor, states: TraceState[]): Promise<void> {
  const ending = states.filter((t) => t.work.root);
  const [fresh, lastStops] = ending.length
    ? await Promise.all([
        recorder.runs.findMany(
          actor,
          ending.map((t) => t.run.id),
        ),
        lastStepStopReasons(
          recorder.db,
          actor.organizationId,
          ending.map((t) => t.run.id),
        ),
      ])
    : [new Map<string, Run>(), new Map<string, string | null>()];
  const updates: UpdateRunInput[] = [];
  /** What each update decides: the spans it maps (metadata), or the end (counted as a failure only). */
  const decides: { spans: SpanState[]; end: boolean }[] = [];
  for (const trace of states) {
    const { metadata, spans } = metadataOf(trace);
    if (trace.start || spans.length) {
      updates.push({
        runId: trace.run.id,
        ...(trace.start ? { status: 'running' as const } : {}),
        ...(spans.length ? { metadata } : {}),
      });
      decides.push({ spans, end: false });
    }
    for (const s of trace.spans) if (!s.failed && !spans.includes(s)) recorder.mapped(s.span.kind);
    const root = trace.work.root;
    if (!root) continue;
    const seen = fresh.get(trace.run.id) ?? trace.run;
    if (isTerminal(seen.status)) continue; // a repeated export of the root
    const end = endOf(
      { ...seen.metadata, ...(spans.length ? metadata : {}) },
      root,
      lastStops.get(trace.run.id) ?? null,
    );
    updates.push({ runId: trace.run.id, ...end });
    decides.push({ spans: [], end: true });
  }
  if (updates.length === 0) return;
  let answers: (Run | Error)[];
  try {
    answers = await recorder.runs.updateMany(actor, updates);
  } catch (err) {
    recorder.failed(
      err,
      decides.reduce((n, d) => n + d.spans.length + (d.end ? 1 : 0), 0),
    );
    return;
  }
  decides.forEach(({ spans }, i) => {
    const answer = answers[i];
    // Conflict: a concurrent request ended the run first (its start, its metadata or its end come too late)
    if (answer instanceof Error && !(answer instanceof Conflict)) {
      recorder.failed(answer, Math.max(1, spans.length));
      return;
    }
    for (const s of spans) recorder.mapped(s.span.kind);
  });
}

/** What the trace's recorded spans add to its run's metadata (nothing once the run ended), and which spans add it. */
function metadataOf(trace: TraceState): { metadata: Record<string, unknown>; spans: SpanState[] } {
  const metadata: Record<string, unknown> = {};
  const spans: SpanState[] = [];
  if (isTerminal(trace.run.status)) return { metadata, spans };
  let known = trace.run.metadata?.[RUN_METADATA.firstTokenNs];
  for (const s of trace.spans) {
    const span = s.span;
    if (s.failed) continue;
    if (span.kind === 'llm' && span.ttftNs !== null) {
      const firstToken = span.startNs + span.ttftNs;
      if (typeof known !== 'string' || BigInt(known) > firstToken) {
        known = firstToken.toString();
        metadata[RUN_METADATA.firstTokenNs] = known;
        spans.push(s);
      }
    } else if (span.kind === 'agent' && span.error && span.parentSpanId !== '') {
      metadata[RUN_METADATA.agentError] = true;
      spans.push(s);
    }
  }
  return { metadata, spans };
}

/** The update the root span ends its run with: status and stop reason, its duration, the run's TTFT. */
function endOf(
  metadata: Record<string, unknown>,
  root: { row: SpanRow; span: GenAiSpan | null },
  lastStepStopReason: string | null,
): Omit<UpdateRunInput, 'runId'> {
  const { row, span } = root;
  const failed = row.statusCode === 'Error' || metadata[RUN_METADATA.agentError] === true;
  let stopReason: StopReason;
  if (failed) stopReason = span?.kind === 'llm' ? 'llm_api_error' : 'error';
  else if (span && stopReasonOf(span) === 'max_tokens_exceeded') stopReason = 'max_tokens_exceeded';
  else stopReason = lastStepStopReason === 'max_tokens_exceeded' ? 'max_tokens_exceeded' : 'end_turn';
  const firstToken = metadata[RUN_METADATA.firstTokenNs];
  let ttftNs = span?.ttftNs ?? null;
  if (ttftNs === null && typeof firstToken === 'string' && BigInt(firstToken) >= row.startNs) {
    ttftNs = BigInt(firstToken) - row.startNs;
  }
  return { stopReason, totalDurationNs: row.durationNs, ...(ttftNs !== null ? { ttftNs } : {}) };
}

/** The stop reason of each run's last LLM call (by start time), where it has one. */
async function lastStepStopReasons(
  db: Db,
  organizationId: string,
  runIds: string[],
): Promise<Map<string, string | null>> {
  const rows = await db
    .selectDistinctOn([steps.runId], { runId: steps.runId, stopReason: steps.stopReason })
    .from(steps)
    .where(and(eq(steps.organizationId, organizationId), inArray(steps.runId, runIds), isNotNull(steps.stepStartNs)))
    .orderBy(steps.runId, desc(steps.stepStartNs));
  return new Map(rows.map((r) => [r.runId, r.stopReason]));
}
