import { z } from 'zod';
import type { Actor } from '../actor.ts';
import { InvalidArgument } from '../errors.ts';
import { idSchema } from '../ids.ts';
import { runStatusSchema } from '../runs/status.ts';
import { timestampInputSchema } from '../time.ts';

export const ANALYTICS_GROUP_BYS = ['agent', 'model', 'provider', 'status'] as const;
export type AnalyticsGroupBy = (typeof ANALYTICS_GROUP_BYS)[number];
export const ANALYTICS_BUCKETS = ['hour', 'day'] as const;
export type AnalyticsBucket = (typeof ANALYTICS_BUCKETS)[number];
/** Longest range one query may cover: a year of hours is 8,784 buckets per group. */
export const MAX_ANALYTICS_RANGE_DAYS = 366;
/** Most values one filter list may hold. */
export const MAX_FILTER_VALUES = 100;

const names = z.array(z.string().min(1).max(256)).min(1).max(MAX_FILTER_VALUES);

/** Which runs and steps a query covers; every list is "any of". Absent or null: no filter. */
export const analyticsFiltersSchema = z.strictObject({
  agentIds: z.array(idSchema('agent')).min(1).max(MAX_FILTER_VALUES).nullish(),
  /** Step model (run figures: the run's model, that of its first step). */
  models: names.nullish(),
  /** Step provider, lower case (run figures: the run's provider). */
  providers: names.nullish(),
  /** Run status. */
  statuses: z.array(runStatusSchema).min(1).nullish(),
});
export type AnalyticsFilters = z.output<typeof analyticsFiltersSchema>;

const range = {
  /** Start of the range, inclusive. Runs by creation time, steps by theirs. */
  from: timestampInputSchema,
  /** End of the range, exclusive. */
  to: timestampInputSchema,
  filters: analyticsFiltersSchema.nullish(),
};

function checkRange(v: { from: string; to: string }, ctx: z.RefinementCtx) {
  const span = Date.parse(v.to) - Date.parse(v.from);
  if (!(span > 0)) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be later than from' });
  else if (span > MAX_ANALYTICS_RANGE_DAYS * 86_400_000) {
    ctx.addIssue({
      code: 'custom',
      path: ['to'],
      message: `the range may span at most ${MAX_ANALYTICS_RANGE_DAYS} days`,
    });
  }
}

export const timeseriesInput = z
  .strictObject({
    ...range,
    /** UTC hours or days. Points cover whole buckets, so the first and last may reach outside [from, to). */
    bucket: z.enum(ANALYTICS_BUCKETS).default('hour'),
    groupBy: z.enum(ANALYTICS_GROUP_BYS).nullish(),
  })
  .superRefine(checkRange);
export type TimeseriesInput = z.input<typeof timeseriesInput>;
export type TimeseriesQuery = z.output<typeof timeseriesInput>;

export const summaryInput = z
  .strictObject({
    ...range,
    /** How many agents and models each top list holds. */
    top: z.number().int().min(1).max(100).default(10),
  })
  .superRefine(checkRange);
export type SummaryInput = z.input<typeof summaryInput>;
export type SummaryQuery = z.output<typeof summaryInput>;

const percentiles = z
  .object({ p50: z.number(), p95: z.number(), p99: z.number() })
  .nullable()
  .describe('milliseconds, estimated from a log histogram (analytics/latency-histogram.ts); null with no values');

export const analyticsFiguresSchema = z.object({
  runs: z.number().int(),
  failedRuns: z.number().int(),
  /** failedRuns / runs; null without runs. */
  errorRate: z.number().nullable(),
  steps: z.number().int(),
  /** Steps with status failed or an error type. */
  stepErrors: z.number().int(),
  tokens: z.object({
    input: z.number().int(),
    cachedInput: z.number().int(),
    cacheWrite: z.number().int(),
    output: z.number().int(),
    reasoning: z.number().int(),
    total: z.number().int(),
  }),
  /** USD of the priced tokens, an exact decimal string. */
  costUsd: z.string(),
  /** Tokens that matched no price (steps never priced count all of theirs). */
  unpricedTokens: z.number().int(),
  runDurationMs: percentiles,
  ttftMs: percentiles,
  /** Sum of the steps' LLM request time. */
  llmMs: z.number(),
});
export type AnalyticsFigures = z.infer<typeof analyticsFiguresSchema>;

export const timeseriesPointSchema = analyticsFiguresSchema.extend({
  /** Start of the bucket, RFC 3339 UTC. */
  bucket: z.string(),
  /** The group's agent id, model, provider or run status; null without groupBy, or for rows without a value. */
  group: z.string().nullable(),
});
export type TimeseriesPoint = z.infer<typeof timeseriesPointSchema>;

export const timeseriesOutput = z.object({
  /** Which engine answered: the Postgres rollups, the raw tables, or ClickHouse. */
  source: z.enum(['rollup', 'raw', 'clickhouse']),
  /** Buckets with data only, by bucket then group. */
  points: z.array(timeseriesPointSchema),
});
export type Timeseries = z.infer<typeof timeseriesOutput>;

const topEntry = z.object({
  /** Agent id or model. */
  key: z.string(),
  /** The agent's name, when it has one (agents.update); null for models. */
  name: z.string().nullable(),
  costUsd: z.string(),
  runs: z.number().int(),
  steps: z.number().int(),
  /** For agents: p95 of their runs' duration. For models: p95 time to first token of the runs on that model. */
  p95Ms: z.number().nullable(),
});

export const summaryOutput = z.object({
  source: z.enum(['rollup', 'raw', 'clickhouse']),
  totals: analyticsFiguresSchema,
  topAgentsByCost: z.array(topEntry),
  topAgentsByP95: z.array(topEntry),
  topModelsByCost: z.array(topEntry),
  topModelsByP95: z.array(topEntry),
});
export type AnalyticsSummary = z.infer<typeof summaryOutput>;

/**
 * `raw` parsed by an analytics input schema, or InvalidArgument naming the first field at fault: every engine checks
 * its input itself, so that a caller in core (not only tRPC's validation) gets the same refusal.
 */
export function parseAnalyticsInput<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') || undefined;
  throw new InvalidArgument(`${field ?? 'input'}: ${issue?.message ?? 'invalid'}`, { field, cause: parsed.error });
}

/**
 * A bucket's start as every engine writes it: RFC 3339 UTC to the second (buckets start on whole hours).
 */
export const bucketText = (epochMs: number) => new Date(epochMs).toISOString().replace('.000Z', 'Z');

/** One analytics engine: the same questions, the same answers (analytics contract suite). */
export interface AnalyticsEngine {
  /** Parses `input` itself ({@link parseAnalyticsInput}). */
  timeseries(actor: Actor, input: TimeseriesInput): Promise<Timeseries>;
  summary(actor: Actor, input: SummaryInput): Promise<AnalyticsSummary>;
}
