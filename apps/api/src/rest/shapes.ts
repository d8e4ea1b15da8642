/**
 * Letta's JSON objects (letta-behavior §11), each derived from the core schema the tRPC procedure answers with.
 */
import type { Actor } from '@runtrace/core';
import { CACHE_READ_KEYS, CACHE_WRITE_KEYS, REASONING_KEYS } from '@runtrace/core/pricing';
import {
  type Message,
  messageSchema,
  nanosecondsOutputSchema,
  type Run,
  type RunMetrics,
  type RunUsage,
  runMetricsSchema,
  runSchema,
  runUsageSchema,
  type Step,
  stepSchema,
} from '@runtrace/core/runs';
import { runEventSchema, type StreamedRunEvent } from '@runtrace/core/streams';
import { type ProviderTrace, providerTraceSchema } from '@runtrace/core/telemetry';
import type { TraceSpan } from '@runtrace/core/traces';
import { z } from 'zod';
import { lettaShape } from './wire.ts';

/**
 * Letta's Run: tRPC's run without `updatedAt` and without Runtrace's totals and cost (Letta's Run has no place for
 * them, and its client would reject unknown fields).
 */
export const RunShape = lettaShape(
  runSchema.omit({
    updatedAt: true,
    model: true,
    provider: true,
    stepCount: true,
    stepErrors: true,
    totalTokens: true,
    costUsd: true,
    unpricedTokens: true,
    llmNs: true,
  }),
);

const STEP_TIMINGS = {
  stepStartNs: true,
  llmRequestStartNs: true,
  llmRequestNs: true,
  toolExecutionNs: true,
  stepNs: true,
} as const;

/**
 * Runtrace's cost and usage types of a step: Letta's Step has no place for them (its client would reject unknown
 * fields). Its own cache and reasoning counts are filled from the details below, as Letta does.
 */
const STEP_COST = {
  inputTokens: true,
  cachedInputTokens: true,
  cacheWriteTokens: true,
  outputTokens: true,
  reasoningTokens: true,
  costUsd: true,
  unpricedTokens: true,
  priceId: true,
} as const;

/**
 * Letta's Step: tRPC's step without its timings (those are StepMetrics) and cost, with the organization, the
 * deprecated `messages` (always `[]`) and the per-step cache and reasoning counts Letta's newer clients read.
 */
export const StepShape = lettaShape(
  stepSchema.omit({ ...STEP_TIMINGS, ...STEP_COST }).extend({
    organizationId: z.string(),
    messages: z
      .array(z.never())
      .describe("Deprecated: always empty; list a step's messages with GET /v1/steps/{step_id}/messages"),
    cachedInputTokens: z.int().nullable(),
    cacheWriteTokens: z.int().nullable(),
    reasoningTokens: z.int().nullable(),
  }),
);

/** Letta's StepMetrics: the step's timings with its linkage. */
export const StepMetricsShape = lettaShape(
  stepSchema
    .pick({ id: true, agentId: true, providerId: true, runId: true, projectId: true, ...STEP_TIMINGS })
    .extend({ organizationId: z.string(), templateId: z.string().nullable(), baseTemplateId: z.string().nullable() }),
);

export const RunMetricsShape = lettaShape(runMetricsSchema);

/**
 * Letta's usage for a run: UsageStatistics with the step count and the cache/reasoning totals kept (Letta drops them,
 * letta-behavior §15.18), which also fill the OpenAI-style details objects.
 */
export const UsageShape = lettaShape(
  runUsageSchema.omit({ costUsd: true, unpricedTokens: true }).extend({
    promptTokensDetails: z
      .object({
        cachedTokens: z.int().nullable(),
        cacheReadTokens: z.int().nullable(),
        cacheCreationTokens: z.int().nullable(),
      })
      .nullable(),
    completionTokensDetails: z.object({ reasoningTokens: z.int().nullable() }).nullable(),
  }),
);

/** Letta's ProviderTrace (its ORM audit fields are always null here). */
export const ProviderTraceShape = lettaShape(
  providerTraceSchema.extend({
    createdById: z.string().nullable(),
    lastUpdatedById: z.string().nullable(),
    updatedAt: z.string().nullable(),
  }),
);

/** Letta's LettaMessage union (discriminated by `message_type`); Letta's messages carry no agent id. */
export const MessageShape = lettaShape(
  z.discriminatedUnion(
    'messageType',
    (messageSchema.options as readonly z.ZodObject[]).map((o) => o.omit({ agentId: true })) as unknown as [
      (typeof messageSchema.options)[number],
    ],
  ),
);

/** A streamed event as replayed (LettaStreamingResponse): the run and the position filled in. */
export const StreamEventShape = lettaShape(
  z.discriminatedUnion(
    'messageType',
    (runEventSchema.options as readonly z.ZodObject[]).map((o) =>
      o.extend({ runId: z.string(), seqId: z.int() }),
    ) as unknown as [(typeof runEventSchema.options)[number]],
  ),
);

/** Letta's LettaPing keepalive. */
export const PingShape = lettaShape(
  z.object({
    id: z.string(),
    date: z.string(),
    name: z.null(),
    messageType: z.literal('ping'),
    otid: z.null(),
    senderId: z.null(),
    stepId: z.null(),
    isErr: z.null(),
    seqId: z.int().nullable(),
    runId: z.string(),
  }),
);

/** One `otel_traces` row as Letta's `/trace` answers it: the collector's column names, times as ISO strings. */
export const SpanShape = {
  schema: z
    .record(z.string(), z.unknown())
    .describe('an otel_traces row: column name → value (Letta returns SELECT *)'),
};

export const toLettaRun = (run: Run) => RunShape.convert(run);
export const toLettaMessage = (message: Message) => MessageShape.convert(message);
export const toLettaRunMetrics = (metrics: RunMetrics) => RunMetricsShape.convert(metrics);

function detail(details: Record<string, unknown> | null, ...keys: string[]): number | null {
  for (const key of keys) {
    const v = details?.[key];
    if (typeof v === 'number' && v > 0) return v;
  }
  return null;
}

export function toLettaStep(step: Step, actor: Actor): unknown {
  return StepShape.convert({
    ...step,
    organizationId: actor.organizationId,
    messages: [],
    // Every provider's name for these counts, aliases never added (pricing/usage-types.ts).
    cachedInputTokens: detail(step.promptTokensDetails, ...CACHE_READ_KEYS),
    cacheWriteTokens: detail(step.promptTokensDetails, ...CACHE_WRITE_KEYS),
    reasoningTokens: detail(step.completionTokensDetails, ...REASONING_KEYS),
  });
}

export function toLettaStepMetrics(step: Step, actor: Actor): unknown {
  return StepMetricsShape.convert({
    ...step,
    organizationId: actor.organizationId,
    templateId: null,
    baseTemplateId: null,
  });
}

export function toLettaUsage(usage: RunUsage): unknown {
  const anyPrompt = usage.cachedInputTokens !== null || usage.cacheWriteTokens !== null;
  return UsageShape.convert({
    ...usage,
    promptTokensDetails: anyPrompt
      ? { cachedTokens: usage.cachedInputTokens, cacheReadTokens: null, cacheCreationTokens: usage.cacheWriteTokens }
      : null,
    completionTokensDetails: usage.reasoningTokens !== null ? { reasoningTokens: usage.reasoningTokens } : null,
  });
}

export function toLettaProviderTrace(trace: ProviderTrace | null): unknown {
  return trace && ProviderTraceShape.convert({ ...trace, createdById: null, lastUpdatedById: null, updatedAt: null });
}

export function toLettaStreamEvent(event: StreamedRunEvent): unknown {
  return StreamEventShape.convert(event);
}

/** Nanoseconds since the epoch (a decimal string) → ISO-8601 UTC with all nine digits. */
function nsToIso(ns: string): string {
  const value = BigInt(ns);
  const seconds = value / 1_000_000_000n;
  const fraction = (value % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${fraction}Z`;
}

const ns = (value: string) => lettaShape(nanosecondsOutputSchema).convert(value);

/** A span as Letta's `/v1/runs/{run_id}/trace` answers it: the `otel_traces` columns by name (letta-behavior §10.2). */
export function toLettaSpan(span: TraceSpan): Record<string, unknown> {
  return {
    Timestamp: nsToIso(span.timestamp),
    TraceId: span.traceId,
    SpanId: span.spanId,
    ParentSpanId: span.parentSpanId,
    TraceState: span.traceState,
    SpanName: span.spanName,
    SpanKind: span.spanKind,
    ServiceName: span.serviceName,
    ResourceAttributes: span.resourceAttributes,
    ScopeName: span.scopeName,
    ScopeVersion: span.scopeVersion,
    SpanAttributes: span.spanAttributes,
    Duration: ns(span.duration),
    StatusCode: span.statusCode,
    StatusMessage: span.statusMessage,
    'Events.Timestamp': span.events.map((e) => nsToIso(e.timestamp)),
    'Events.Name': span.events.map((e) => e.name),
    'Events.Attributes': span.events.map((e) => e.attributes),
    'Links.TraceId': span.links.map((l) => l.traceId),
    'Links.SpanId': span.links.map((l) => l.spanId),
    'Links.TraceState': span.links.map((l) => l.traceState),
    'Links.Attributes': span.links.map((l) => l.attributes),
  };
}
