import { z } from 'zod';
import { idSchema } from '../ids.ts';
import { cursorSchema, limitSchema, orderSchema } from '../pagination.ts';
import { nanosecondsSchema } from '../runs/schemas.ts';
import { stopReasonSchema } from '../runs/status.ts';

export const STEP_STATUSES = ['pending', 'success', 'failed'] as const;
/** The largest value of a Postgres integer column (token counts, context windows). */
export const INT4_MAX = 2_147_483_647;
/** Longest trace id: it is indexed, and a btree entry holds at most about 2.7 kB (OpenTelemetry's are 32 hex digits). */
export const MAX_TRACE_ID_LENGTH = 256;
const tokens = z.number().int().min(0).max(INT4_MAX);
const details = z.record(z.string(), z.unknown());

export const createStepInput = z.strictObject({
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
  /** e.g. `{ cached_tokens, cache_read_tokens, cache_creation_tokens }` as the provider reports them. */
  promptTokensDetails: details.nullish(),
  /** e.g. `{ reasoning_tokens }`. */
  completionTokensDetails: details.nullish(),
  stopReason: stopReasonSchema.nullish(),
  tags: z.array(z.string()).default([]),
  tid: z.string().nullish(),
  /** The OpenTelemetry trace id of the step, for `runs.trace`. */
  traceId: z.string().max(MAX_TRACE_ID_LENGTH).nullish(),
  requestId: z.string().nullish(),
  feedback: z.enum(['positive', 'negative']).nullish(),
  projectId: z.string().nullish(),
  errorType: z.string().nullish(),
  errorData: details.nullish(),
  status: z.enum(STEP_STATUSES).default('pending'),
  stepStartNs: nanosecondsSchema.nullish(),
  llmRequestStartNs: nanosecondsSchema.nullish(),
  llmRequestNs: nanosecondsSchema.nullish(),
  toolExecutionNs: nanosecondsSchema.nullish(),
  stepNs: nanosecondsSchema.nullish(),
}).refine((s) => s.totalTokens !== undefined || s.promptTokens + s.completionTokens <= INT4_MAX, {
  error: `promptTokens + completionTokens exceeds ${INT4_MAX}; give totalTokens explicitly or smaller counts`,
  path: ['totalTokens'],
});
export type CreateStepInput = z.input<typeof createStepInput>;

export const stepIdInput = z.strictObject({ stepId: idSchema('step') });

export const listRunStepsInput = z.strictObject({
  runId: idSchema('run'),
  order: orderSchema.default('desc'),
  limit: limitSchema,
  cursor: cursorSchema,
});

export interface Step {
  id: string;
  runId: string;
  agentId: string;
  origin: string | null;
  providerId: string | null;
  providerName: string | null;
  providerCategory: string | null;
  model: string | null;
  modelEndpoint: string | null;
  contextWindowLimit: number | null;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  promptTokensDetails: Record<string, unknown> | null;
  completionTokensDetails: Record<string, unknown> | null;
  stopReason: string | null;
  tags: string[];
  tid: string | null;
  traceId: string | null;
  requestId: string | null;
  feedback: string | null;
  projectId: string | null;
  errorType: string | null;
  errorData: Record<string, unknown> | null;
  status: (typeof STEP_STATUSES)[number];
  /** Letta's step metrics timings, nanoseconds as decimal strings. */
  stepStartNs: string | null;
  llmRequestStartNs: string | null;
  llmRequestNs: string | null;
  toolExecutionNs: string | null;
  stepNs: string | null;
  createdAt: string;
}
export type StepIdInput = z.input<typeof stepIdInput>;
export type ListRunStepsInput = z.input<typeof listRunStepsInput>;
