import { z } from 'zod';
import { idSchema } from '../ids.ts';
import { jsonObjectSchema } from '../json.ts';
import { messageTypeSchema } from '../messages/letta-message.ts';
import { cursorSchema, limitSchema, orderSchema } from '../pagination.ts';
import { timestampInputSchema } from '../time.ts';
import { runStatusSchema, stopReasonSchema } from './status.ts';

/** The largest value of a Postgres bigint column. */
export const INT8_MAX = 9_223_372_036_854_775_807n;

/**
 * A nanosecond count: a decimal string on tRPC (JSON numbers lose precision past 2^53); safe integers accepted too.
 * At most {@link INT8_MAX}, what the bigint columns hold.
 */
export const nanosecondsSchema = z
  .union([
    z.string().regex(/^\d{1,19}$/, 'must be a non-negative integer in decimal digits'),
    z.number().int().min(0),
    z.bigint().min(0n),
  ])
  .transform((v) => BigInt(v))
  .refine((v) => v <= INT8_MAX, { error: `must be at most ${INT8_MAX}` });

/** Longest time one step may report for itself or its LLM call or tools (10^15 ns, about 11.6 days). */
export const MAX_STEP_DURATION_NS = 1_000_000_000_000_000n;

/**
 * A step's duration: bounded so that what adds them up (a run's LLM time, an hourly rollup row) always fits its bigint
 * column — 9,223 steps at the bound in one run or hour before it could not; INT8_MAX each would overflow at two.
 */
export const stepDurationNsSchema = nanosecondsSchema.refine((v) => v <= MAX_STEP_DURATION_NS, {
  error: `must be at most ${MAX_STEP_DURATION_NS} (about 11.6 days)`,
});

/**
 * A nanosecond count as the api answers it on tRPC: a decimal string. The Letta REST layer recognises this schema and
 * writes such fields as JSON integers (CONTRACTS §3).
 */
export const nanosecondsOutputSchema = z.string().regex(/^\d+$/).describe('nanoseconds, as a decimal string');

/** Longest agent name (indexed, like the conversation id). */
export const MAX_AGENT_NAME_LENGTH = 256;

/** Longest conversation id: it is indexed, and a btree entry holds at most about 2.7 kB. */
export const MAX_CONVERSATION_ID_LENGTH = 256;

const metadataSchema = jsonObjectSchema;

export const requestConfigSchema = z.strictObject({
  useAssistantMessage: z.boolean().default(true),
  assistantMessageToolName: z.string().nullish(),
  assistantMessageToolKwarg: z.string().nullish(),
  /** When set, `runs.messages` lists only these message types. */
  includeReturnMessageTypes: z.array(messageTypeSchema).nullish(),
});

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

export const createRunInput = z.strictObject({
  /** Optional client-chosen id for idempotent retries. */
  id: idSchema('run').optional(),
  agentId: idSchema('agent'),
  background: z.boolean().nullish(),
  conversationId: z.string().min(1).max(MAX_CONVERSATION_ID_LENGTH).nullish(),
  baseTemplateId: z.string().nullish(),
  metadata: metadataSchema.nullish(),
  requestConfig: requestConfigSchema.nullish(),
  callbackUrl: httpUrl.nullish(),
  projectId: z.string().nullish(),
  templateId: z.string().nullish(),
  /**
   * A name for the agent, set when the agent has none yet (a name is never overwritten here: `agents.update` renames).
   * Without it, the metadata's `agent_name` or `agentName` (if a string of 1..256 characters) is used.
   */
  agentName: z.string().min(1).max(MAX_AGENT_NAME_LENGTH).optional(),
});
export type CreateRunInput = z.input<typeof createRunInput>;

export const runIdInput = z.strictObject({ runId: idSchema('run') });

/** What `runs.list` sorts by: creation time, duration (run_ns, else the reported total), cost, total tokens. */
export const RUN_SORT_KEYS = ['created', 'duration', 'cost', 'tokens'] as const;
export type RunSortKey = (typeof RUN_SORT_KEYS)[number];

/** Shortest `runs.list` search: `run-` and 4 characters of the uuid, so a prefix never reads more than a sliver. */
export const MIN_RUN_SEARCH_LENGTH = 8;

/** Most values of a `runs.list` filter list (models, agent names). */
export const MAX_LIST_FILTER_VALUES = 100;

/** The filters of `runs.list`, which `runs.count` takes too. */
export const runFiltersInput = z.strictObject({
  agentId: idSchema('agent').nullish(),
  /** Case-sensitive run statuses; order and duplicates do not matter. */
  statuses: z.array(runStatusSchema).nullish(),
  background: z.boolean().nullish(),
  stopReason: stopReasonSchema.nullish(),
  conversationId: z.string().max(MAX_CONVERSATION_ID_LENGTH).nullish(),
  /** Only created or running runs (ignored when `statuses` is given). */
  active: z.boolean().default(false),
  /** Runs created at or after this time (inclusive). */
  createdFrom: timestampInputSchema.nullish(),
  /** Runs created before this time (exclusive). */
  createdTo: timestampInputSchema.nullish(),
  /** Runs whose model (the model of their first step, `Run.model`) is one of these; exact names. */
  models: z.array(z.string().min(1).max(256)).max(MAX_LIST_FILTER_VALUES).nullish(),
  /** Runs of agents with one of these names (exact, case-sensitive); with `agentId` both must hold. */
  agentNames: z.array(z.string().min(1).max(MAX_AGENT_NAME_LENGTH)).max(MAX_LIST_FILTER_VALUES).nullish(),
  /** A run id or a prefix of one, `run-` and at least 4 more characters (case-insensitive). */
  search: z
    .string()
    .toLowerCase()
    .min(MIN_RUN_SEARCH_LENGTH)
    .max(40)
    .refine((v) => v.startsWith('run-'), { error: "must start with 'run-'" })
    .nullish(),
});

export const listRunsInput = runFiltersInput.extend({
  /** The sort key; rows without one (no duration or cost yet) come last in both orders. */
  sortBy: z.enum(RUN_SORT_KEYS).default('created'),
  order: orderSchema.default('desc'),
  limit: limitSchema,
  cursor: cursorSchema,
});
export type ListRunsInput = z.input<typeof listRunsInput>;

/** Most runs `runs.count` counts: past it the answer is "at least this many", so a count never reads a whole table. */
export const MAX_RUN_COUNT = 10_000;

export const countRunsInput = runFiltersInput;
export type CountRunsInput = z.input<typeof countRunsInput>;

export const runCountSchema = z.object({
  /** Runs passing the filters, at most {@link MAX_RUN_COUNT}. */
  count: z.number().int(),
  /** True when more runs than `count` pass: the count stopped at {@link MAX_RUN_COUNT}. */
  capped: z.boolean(),
});
export type RunCount = z.infer<typeof runCountSchema>;

export const listActiveRunsInput = z.strictObject({
  agentId: idSchema('agent').nullish(),
  background: z.boolean().nullish(),
  limit: limitSchema,
  cursor: cursorSchema,
});

export const updateRunInput = z.strictObject({
  runId: idSchema('run'),
  status: runStatusSchema.optional(),
  stopReason: stopReasonSchema.optional(),
  /** Merged shallowly into the run's metadata. */
  metadata: metadataSchema.optional(),
  ttftNs: nanosecondsSchema.optional(),
  totalDurationNs: nanosecondsSchema.optional(),
  completedAt: timestampInputSchema.optional(),
});
export type UpdateRunInput = z.input<typeof updateRunInput>;
export type RunIdInput = z.input<typeof runIdInput>;
export type ListActiveRunsInput = z.input<typeof listActiveRunsInput>;

export const runSchema = z.object({
  id: z.string(),
  agentId: z.string(),
  status: runStatusSchema,
  stopReason: stopReasonSchema.nullable(),
  background: z.boolean().nullable(),
  conversationId: z.string().nullable(),
  baseTemplateId: z.string().nullable(),
  metadata: metadataSchema.nullable(),
  requestConfig: requestConfigSchema.nullable(),
  callbackUrl: z.string().nullable(),
  callbackSentAt: z.string().nullable(),
  callbackStatusCode: z.number().nullable(),
  callbackError: z.string().nullable(),
  ttftNs: nanosecondsOutputSchema.nullable(),
  /** The run's measured duration once it has ended (run_metrics.run_ns), else what the producer reported. */
  totalDurationNs: nanosecondsOutputSchema.nullable(),
  /** Model and provider of the run's first step. */
  model: z.string().nullable(),
  provider: z.string().nullable(),
  stepCount: z.number().int(),
  /** Steps with status failed or an error type. */
  stepErrors: z.number().int(),
  totalTokens: z.number().int(),
  /** USD of the run's priced tokens, an exact decimal string; null until one of its steps matched a price. */
  costUsd: z.string().nullable(),
  /** Tokens of the run's steps that matched no price. */
  unpricedTokens: z.number().int(),
  /** Sum of the steps' LLM request time. */
  llmNs: nanosecondsOutputSchema.nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  completedAt: z.string().nullable(),
});
export type Run = z.infer<typeof runSchema>;

export const runMetricsSchema = z.object({
  id: z.string(),
  organizationId: z.string(),
  agentId: z.string(),
  projectId: z.string().nullable(),
  runStartNs: nanosecondsOutputSchema,
  runNs: nanosecondsOutputSchema.nullable(),
  numSteps: z.number().int(),
  /** Names of the tools called in the run's messages, or null when none. */
  toolsUsed: z.array(z.string()).nullable(),
  templateId: z.string().nullable(),
  baseTemplateId: z.string().nullable(),
});
export type RunMetrics = z.infer<typeof runMetricsSchema>;

export const runUsageSchema = z.object({
  promptTokens: z.number().int(),
  completionTokens: z.number().int(),
  totalTokens: z.number().int(),
  stepCount: z.number().int(),
  /** Null until some step reports a value above zero. */
  cachedInputTokens: z.number().int().nullable(),
  cacheWriteTokens: z.number().int().nullable(),
  reasoningTokens: z.number().int().nullable(),
  /** USD of the run's priced tokens, an exact decimal string; null while none of its steps matched a price. */
  costUsd: z.string().nullable(),
  /** Tokens of the run's steps that matched no price. */
  unpricedTokens: z.number().int(),
});
export type RunUsage = z.infer<typeof runUsageSchema>;
