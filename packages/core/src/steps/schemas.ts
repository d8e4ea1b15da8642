import { z } from 'zod';
import { idSchema } from '../ids.ts';
import { jsonObjectSchema } from '../json.ts';
import { cursorSchema, limitSchema, orderSchema } from '../pagination.ts';
import { CACHE_READ_KEYS, CACHE_WRITE_KEYS, detailCount, REASONING_KEYS } from '../pricing/usage-types.ts';
import { nanosecondsOutputSchema, nanosecondsSchema, stepDurationNsSchema } from '../runs/schemas.ts';
import { stopReasonSchema } from '../runs/status.ts';
import { timestampInputSchema } from '../time.ts';

export const STEP_STATUSES = ['pending', 'success', 'failed'] as const;
export const FEEDBACK_VALUES = ['positive', 'negative'] as const;
/** The largest value of a Postgres integer column (token counts, context windows). */
export const INT4_MAX = 2_147_483_647;
/** Longest trace id: it is indexed, and a btree entry holds at most about 2.7 kB (OpenTelemetry's are 32 hex digits). */
export const MAX_TRACE_ID_LENGTH = 256;
const tokens = z.number().int().min(0).max(INT4_MAX);
const details = jsonObjectSchema;

/**
 * Token details as providers report them: free-form, except the keys priced as usage types (pricing/usage-types.ts)
 * and summed by `runs.usage` (it casts them to bigint, so a fraction, a string or a list there would make every later
 * usage read of the run fail). Those are token counts like the step's own: integers within 0…{@link INT4_MAX}, or null.
 */
const tokenDetails = <K extends string>(keys: readonly K[]) =>
  z.looseObject(
    Object.fromEntries(keys.map((key) => [key, tokens.nullish()])) as Record<
      K,
      z.ZodOptional<z.ZodNullable<typeof tokens>>
    >,
  );
/** The prompt-token detail keys priced and summed: every provider's name for cache reads and writes. */
export const PROMPT_TOKEN_DETAIL_KEYS = [...CACHE_READ_KEYS, ...CACHE_WRITE_KEYS] as const;
/** The completion-token detail keys priced and summed: every provider's name for reasoning. */
export const COMPLETION_TOKEN_DETAIL_KEYS = REASONING_KEYS;

export const createStepInput = z
  .strictObject({
    /** Optional client-chosen id for idempotent retries. */
    id: idSchema('step').optional(),
    runId: idSchema('run'),
    origin: z.string().nullish(),
    providerId: z.string().nullish(),
    providerName: z.string().nullish(),
    providerCategory: z.string().nullish(),
    model: z.string().nullish(),
    modelEndpoint: z.string().nullish(),
    contextWindowLimit: z.number().int().min(0).max(INT4_MAX).nullish(),
    promptTokens: tokens.default(0),
    completionTokens: tokens.default(0),
    /** Defaults to promptTokens + completionTokens. */
    totalTokens: tokens.optional(),
    /**
     * e.g. `{ cached_tokens, cache_read_tokens, cache_creation_tokens }` as the provider reports them. Cache reads
     * and writes are part of promptTokens (Letta's convention): together they may not exceed it.
     */
    promptTokensDetails: tokenDetails(PROMPT_TOKEN_DETAIL_KEYS).nullish(),
    /** e.g. `{ reasoning_tokens }`: part of completionTokens, so at most that. */
    completionTokensDetails: tokenDetails(COMPLETION_TOKEN_DETAIL_KEYS).nullish(),
    stopReason: stopReasonSchema.nullish(),
    tags: z.array(z.string()).default([]),
    tid: z.string().nullish(),
    /** The OpenTelemetry trace id of the step, for `runs.trace`. */
    traceId: z.string().max(MAX_TRACE_ID_LENGTH).nullish(),
    requestId: z.string().nullish(),
    feedback: z.enum(FEEDBACK_VALUES).nullish(),
    projectId: z.string().nullish(),
    errorType: z.string().nullish(),
    errorData: details.nullish(),
    status: z.enum(STEP_STATUSES).default('pending'),
    stepStartNs: nanosecondsSchema.nullish(),
    llmRequestStartNs: nanosecondsSchema.nullish(),
    llmRequestNs: stepDurationNsSchema.nullish(),
    toolExecutionNs: stepDurationNsSchema.nullish(),
    stepNs: stepDurationNsSchema.nullish(),
  })
  .refine((s) => s.totalTokens !== undefined || s.promptTokens + s.completionTokens <= INT4_MAX, {
    error: `promptTokens + completionTokens exceeds ${INT4_MAX}; give totalTokens explicitly or smaller counts`,
    path: ['totalTokens'],
  })
  .refine(
    (s) =>
      detailCount(s.promptTokensDetails, CACHE_READ_KEYS) + detailCount(s.promptTokensDetails, CACHE_WRITE_KEYS) <=
      s.promptTokens,
    {
      error:
        'cache reads plus cache writes exceed promptTokens; promptTokens includes them (each token is priced once)',
      path: ['promptTokensDetails'],
    },
  )
  .refine((s) => detailCount(s.completionTokensDetails, REASONING_KEYS) <= s.completionTokens, {
    error: 'reasoning tokens exceed completionTokens; completionTokens includes them (each token is priced once)',
    path: ['completionTokensDetails'],
  });
export type CreateStepInput = z.input<typeof createStepInput>;

export const stepIdInput = z.strictObject({ stepId: idSchema('step') });

export const listRunStepsInput = z.strictObject({
  runId: idSchema('run'),
  order: orderSchema.default('desc'),
  limit: limitSchema,
  cursor: cursorSchema,
});

/** Steps of the caller's organization, across runs, with Letta's filters (`GET /v1/steps/`). */
export const listStepsInput = z.strictObject({
  agentId: idSchema('agent').nullish(),
  model: z.string().nullish(),
  /** Steps whose trace id is one of these. */
  traceIds: z.array(z.string().max(MAX_TRACE_ID_LENGTH)).nullish(),
  feedback: z.enum(FEEDBACK_VALUES).nullish(),
  /** true: steps with feedback; false: steps without. */
  hasFeedback: z.boolean().nullish(),
  /** Steps carrying every one of these tags. */
  tags: z.array(z.string()).nullish(),
  projectId: z.string().nullish(),
  /** Steps created after this time (exclusive). */
  startDate: timestampInputSchema.nullish(),
  /** Steps created before this time (exclusive). */
  endDate: timestampInputSchema.nullish(),
  order: orderSchema.default('desc'),
  limit: limitSchema,
  cursor: cursorSchema,
});
export type ListStepsInput = z.input<typeof listStepsInput>;

/** Sets (or with null clears) a step's feedback; non-empty `tags` replace the step's tags (Letta's feedback call). */
export const stepFeedbackInput = z.strictObject({
  stepId: idSchema('step'),
  feedback: z.enum(FEEDBACK_VALUES).nullish(),
  tags: z.array(z.string()).nullish(),
});
export type StepFeedbackInput = z.input<typeof stepFeedbackInput>;

const detailsOutput = z.record(z.string(), z.unknown()).nullable();

export const stepSchema = z.object({
  id: z.string(),
  runId: z.string(),
  agentId: z.string(),
  origin: z.string().nullable(),
  providerId: z.string().nullable(),
  providerName: z.string().nullable(),
  providerCategory: z.string().nullable(),
  model: z.string().nullable(),
  modelEndpoint: z.string().nullable(),
  contextWindowLimit: z.number().int().nullable(),
  promptTokens: z.number().int(),
  completionTokens: z.number().int(),
  totalTokens: z.number().int(),
  promptTokensDetails: detailsOutput,
  completionTokensDetails: detailsOutput,
  stopReason: z.string().nullable(),
  tags: z.array(z.string()),
  tid: z.string().nullable(),
  traceId: z.string().nullable(),
  requestId: z.string().nullable(),
  feedback: z.string().nullable(),
  projectId: z.string().nullable(),
  errorType: z.string().nullable(),
  errorData: detailsOutput,
  status: z.enum(STEP_STATUSES),
  /** Letta's step metrics timings, nanoseconds as decimal strings. */
  stepStartNs: nanosecondsOutputSchema.nullable(),
  llmRequestStartNs: nanosecondsOutputSchema.nullable(),
  llmRequestNs: nanosecondsOutputSchema.nullable(),
  toolExecutionNs: nanosecondsOutputSchema.nullable(),
  stepNs: nanosecondsOutputSchema.nullable(),
  /**
   * Tokens by usage type (pricing/usage-types.ts), each token in exactly one: input excludes cache reads and
   * writes, output excludes reasoning. They add up to promptTokens + completionTokens.
   */
  inputTokens: z.number().int(),
  cachedInputTokens: z.number().int(),
  cacheWriteTokens: z.number().int(),
  outputTokens: z.number().int(),
  reasoningTokens: z.number().int(),
  /** USD, an exact decimal string; null when no price matched the step's provider and model at its time. */
  costUsd: z.string().nullable(),
  /** Tokens no price covered (all of them when costUsd is null). */
  unpricedTokens: z.number().int(),
  /** The price version used: a `prices.list` id (shipped defaults: `default:…`). */
  priceId: z.string().nullable(),
  createdAt: z.string(),
});
export type Step = z.infer<typeof stepSchema>;
export type StepIdInput = z.input<typeof stepIdInput>;
export type ListRunStepsInput = z.input<typeof listRunStepsInput>;
