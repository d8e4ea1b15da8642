import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  type PgColumnBuilderBase,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { HISTOGRAM_BUCKETS } from '../analytics/latency-histogram.ts';

/** Microsecond UTC timestamps kept as strings so no precision is lost on the way to the client (CONTRACTS §3). */
const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'string', precision: 6 });
const createdAt = () => timestamptz('created_at').notNull().default(sql`clock_timestamp()`);
const nanoseconds = (name: string) => bigint(name, { mode: 'bigint' });

export const organizations = pgTable('organizations', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: createdAt(),
  /**
   * Days this organization keeps runs and provider traces (retention/): null follows RUNTRACE_RETENTION_DAYS, 0 keeps
   * everything whatever the global setting says.
   */
  retentionDays: integer('retention_days'),
  /**
   * Whether this organization's GenAI spans (OTLP) become runs, steps and messages (traces/genai/). A resource's
   * `runtrace.runs_from_spans` attribute overrides it either way.
   */
  runsFromSpans: boolean('runs_from_spans').notNull().default(false),
});

export const users = pgTable('users', {
  id: text('id').primaryKey(),
  organizationId: text('organization_id')
    .notNull()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  createdAt: createdAt(),
});

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** SHA-256 of the secret; the secret itself is shown once and never stored. */
    keyHash: text('key_hash').notNull(),
    /** The first characters of the key, so a person can tell keys apart in a listing. */
    keyPrefix: text('key_prefix').notNull(),
    createdAt: createdAt(),
    revokedAt: timestamptz('revoked_at'),
  },
  (t) => [uniqueIndex('api_keys_key_hash_idx').on(t.keyHash), index('api_keys_org_idx').on(t.organizationId)],
);

/** Agents are created on first use, per organization, from the agentId a run names. */
export const agents = pgTable(
  'agents',
  {
    id: text('id').notNull(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    lastStopReason: text('last_stop_reason'),
    /** A person's name for the agent: from runs.create (agentName or metadata), or agents.update. */
    name: text('name'),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.organizationId, t.id] }),
    index('agents_org_created_idx').on(t.organizationId, t.createdAt, t.id),
    index('agents_org_name_idx').on(t.organizationId, t.name).where(sql`${t.name} is not null`),
  ],
);

export const runs = pgTable(
  'runs',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    agentId: text('agent_id').notNull(),
    status: text('status').notNull().default('created'),
    stopReason: text('stop_reason'),
    background: boolean('background'),
    conversationId: text('conversation_id'),
    baseTemplateId: text('base_template_id'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>(),
    requestConfig: jsonb('request_config').$type<Record<string, unknown>>(),
    callbackUrl: text('callback_url'),
    callbackSentAt: timestamptz('callback_sent_at'),
    callbackStatusCode: integer('callback_status_code'),
    callbackError: text('callback_error'),
    ttftNs: nanoseconds('ttft_ns'),
    totalDurationNs: nanoseconds('total_duration_ns'),
    /**
     * run_metrics.run_ns, written in the same transaction: the duration a run reports (Letta overwrites
     * total_duration_ns with it), kept here so that reads of runs need no join (pnpm bench, runs.list).
     */
    runNs: nanoseconds('run_ns'),
    /** Model and provider of the run's first step: what analytics attribute the run's own figures to. */
    model: text('model'),
    provider: text('provider'),
    /**
     * Totals over the run's steps, kept by steps.create and prices.recompute in the step's transaction so that
     * runs.list can show and sort by them without reading steps. Token types as in pricing/usage-types.ts.
     */
    stepCount: integer('step_count').notNull().default(0),
    stepErrors: integer('step_errors').notNull().default(0),
    totalTokens: bigint('total_tokens', { mode: 'number' }).notNull().default(0),
    /** Cost of the run's priced tokens in pico-USD (1e-12 USD); null until a step matched a price. */
    costPusd: bigint('cost_pusd', { mode: 'bigint' }),
    /** Tokens of the run's steps that matched no price: never silently zero. */
    unpricedTokens: bigint('unpriced_tokens', { mode: 'number' }).notNull().default(0),
    llmNs: nanoseconds('llm_ns'),
    createdById: text('created_by_id'),
    /** SHA-256 of the create input, to tell an idempotent retry from a conflicting reuse of a client id. */
    createFingerprint: text('create_fingerprint').notNull(),
    createdAt: createdAt(),
    updatedAt: timestamptz('updated_at').notNull().default(sql`clock_timestamp()`),
    completedAt: timestamptz('completed_at'),
  },
  (t) => [
    index('runs_org_created_idx').on(t.organizationId, t.createdAt, t.id),
    index('runs_org_agent_created_idx').on(t.organizationId, t.agentId, t.createdAt, t.id),
    index('runs_org_status_created_idx').on(t.organizationId, t.status, t.createdAt, t.id),
    index('runs_org_stop_reason_created_idx').on(t.organizationId, t.stopReason, t.createdAt, t.id),
    index('runs_org_conversation_created_idx')
      .on(t.organizationId, t.conversationId, t.createdAt, t.id)
      .where(sql`${t.conversationId} is not null`),
    index('runs_org_background_created_idx').on(t.organizationId, t.createdAt, t.id).where(sql`${t.background}`),
    // runs.list's id-prefix search. The totals steps.create keeps (cost, tokens) are deliberately not indexed: an
    // index on them would make every step's update of its run write a new entry in every index of runs (no HOT
    // update); sorting by them reads the runs in the list's filter and time range instead.
    index('runs_org_id_prefix_idx').on(t.organizationId, sql`${t.id} text_pattern_ops`),
  ],
);

export const runMetrics = pgTable('run_metrics', {
  id: text('id')
    .primaryKey()
    .references(() => runs.id, { onDelete: 'cascade' }),
  organizationId: text('organization_id').notNull(),
  agentId: text('agent_id').notNull(),
  projectId: text('project_id'),
  runStartNs: nanoseconds('run_start_ns').notNull(),
  runNs: nanoseconds('run_ns'),
  numSteps: integer('num_steps').notNull().default(0),
  toolsUsed: jsonb('tools_used').$type<string[]>(),
  templateId: text('template_id'),
  baseTemplateId: text('base_template_id'),
});

export const steps = pgTable(
  'steps',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id').notNull(),
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    agentId: text('agent_id').notNull(),
    origin: text('origin'),
    providerId: text('provider_id'),
    providerName: text('provider_name'),
    providerCategory: text('provider_category'),
    model: text('model'),
    modelEndpoint: text('model_endpoint'),
    contextWindowLimit: integer('context_window_limit'),
    completionTokens: integer('completion_tokens').notNull().default(0),
    promptTokens: integer('prompt_tokens').notNull().default(0),
    totalTokens: integer('total_tokens').notNull().default(0),
    completionTokensDetails: jsonb('completion_tokens_details').$type<Record<string, unknown>>(),
    promptTokensDetails: jsonb('prompt_tokens_details').$type<Record<string, unknown>>(),
    stopReason: text('stop_reason'),
    tags: jsonb('tags').$type<string[]>().notNull().default(sql`'[]'::jsonb`),
    tid: text('tid'),
    traceId: text('trace_id'),
    requestId: text('request_id'),
    feedback: text('feedback'),
    projectId: text('project_id'),
    errorType: text('error_type'),
    errorData: jsonb('error_data').$type<Record<string, unknown>>(),
    status: text('status').notNull().default('pending'),
    stepStartNs: nanoseconds('step_start_ns'),
    llmRequestStartNs: nanoseconds('llm_request_start_ns'),
    llmRequestNs: nanoseconds('llm_request_ns'),
    toolExecutionNs: nanoseconds('tool_execution_ns'),
    stepNs: nanoseconds('step_ns'),
    /**
     * Tokens by usage type (pricing/usage-types.ts), derived from the counts and details when the step is priced,
     * each token in exactly one type: input is prompt minus cache reads and writes, output is completion minus
     * reasoning. Null on steps recorded before pricing existed until prices.recompute reaches them.
     */
    inputTokens: integer('input_tokens'),
    cachedInputTokens: integer('cached_input_tokens'),
    cacheWriteTokens: integer('cache_write_tokens'),
    outputTokens: integer('output_tokens'),
    reasoningTokens: integer('reasoning_tokens'),
    /** Cost of the priced tokens in pico-USD (1e-12 USD): exact integers, no float anywhere. Null: no price matched. */
    costPusd: bigint('cost_pusd', { mode: 'bigint' }),
    /** Tokens no price covered; null on a step never priced (all of its tokens count as unpriced). */
    unpricedTokens: integer('unpriced_tokens'),
    /** The price version used: a model_prices id, or a shipped default's id (pricing/default-prices.json). */
    priceId: text('price_id'),
    createFingerprint: text('create_fingerprint').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('steps_run_created_idx').on(t.runId, t.createdAt, t.id),
    index('steps_org_created_idx').on(t.organizationId, t.createdAt, t.id),
    index('steps_org_agent_created_idx').on(t.organizationId, t.agentId, t.createdAt, t.id),
    index('steps_org_trace_idx').on(t.organizationId, t.traceId).where(sql`${t.traceId} is not null`),
  ],
);

/**
 * An organization's own prices, over the shipped defaults (pricing/default-prices.json). Prices are USD per million
 * tokens, kept as integer micro-USD per million tokens (= pico-USD per token), so cost is an exact integer product.
 * A new price for the same match takes effect from `effective_from`: steps before it keep the price they had.
 */
export const modelPrices = pgTable(
  'model_prices',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** Provider name as steps report it (lower case); null matches any provider. */
    provider: text('provider'),
    /** Exactly one of model (exact name) and modelPattern (a regular expression matching the whole name). */
    model: text('model'),
    modelPattern: text('model_pattern'),
    effectiveFrom: timestamptz('effective_from').notNull(),
    inputPpt: bigint('input_ppt', { mode: 'bigint' }).notNull(),
    cachedInputPpt: bigint('cached_input_ppt', { mode: 'bigint' }),
    cacheWritePpt: bigint('cache_write_ppt', { mode: 'bigint' }),
    outputPpt: bigint('output_ppt', { mode: 'bigint' }).notNull(),
    reasoningPpt: bigint('reasoning_ppt', { mode: 'bigint' }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('model_prices_match_idx').on(
      t.organizationId,
      sql`coalesce(${t.provider}, '')`,
      sql`coalesce(${t.model}, '')`,
      sql`coalesce(${t.modelPattern}, '')`,
      t.effectiveFrom,
    ),
  ],
);

/**
 * Where a prices.recompute stands, so that a recompute interrupted (restart, timeout) resumes from its last batch.
 */
export const priceRecomputes = pgTable('price_recomputes', {
  id: text('id').primaryKey(),
  organizationId: text('organization_id')
    .notNull()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  /** The range and model asked for: steps created in [from, to), of `model` when set. */
  fromTime: timestamptz('from_time').notNull(),
  toTime: timestamptz('to_time').notNull(),
  model: text('model'),
  /** Keyset position of the last batch done: (created_at, id) of its last step. */
  afterCreatedAt: timestamptz('after_created_at'),
  afterId: text('after_id'),
  stepsDone: bigint('steps_done', { mode: 'number' }).notNull().default(0),
  status: text('status').notNull().default('running'),
  createdAt: createdAt(),
  updatedAt: timestamptz('updated_at').notNull().default(sql`clock_timestamp()`),
});

export const messages = pgTable(
  'messages',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id').notNull(),
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    agentId: text('agent_id').notNull(),
    stepId: text('step_id'),
    /** Position within the run, 1-based, assigned on append: the order messages are listed in. */
    seq: integer('seq').notNull(),
    messageType: text('message_type').notNull(),
    date: timestamptz('date').notNull(),
    name: text('name'),
    otid: text('otid'),
    senderId: text('sender_id'),
    isErr: boolean('is_err'),
    /** The fields particular to the message type (content, toolCall, toolReturn, …). */
    body: jsonb('body').$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('messages_run_seq_idx').on(t.runId, t.seq),
    index('messages_step_seq_idx').on(t.stepId, t.seq, t.id).where(sql`${t.stepId} is not null`),
  ],
);

export const providerTraces = pgTable(
  'provider_traces',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id').notNull(),
    runId: text('run_id'),
    stepId: text('step_id'),
    agentId: text('agent_id'),
    agentTags: jsonb('agent_tags').$type<string[]>(),
    callType: text('call_type'),
    requestJson: jsonb('request_json').$type<Record<string, unknown>>().notNull(),
    responseJson: jsonb('response_json').$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('provider_traces_org_step_idx').on(t.organizationId, t.stepId, t.createdAt),
    index('provider_traces_org_run_idx').on(t.organizationId, t.runId, t.createdAt),
    // Retention drops an organization's traces by age (retention/purge-batch.ts) without scanning the rest.
    index('provider_traces_org_created_idx').on(t.organizationId, t.createdAt),
  ],
);

/**
 * Provider-trace ids chosen by callers, claimed before a trace goes to any telemetry backend: the one place that
 * decides retry (same organization, same content) or CONFLICT, whichever backends are configured (ClickHouse and the
 * socket cannot refuse a duplicate id). Generated ids are never claimed: they cannot collide.
 */
export const providerTraceIds = pgTable(
  'provider_trace_ids',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id').notNull(),
    /** The trace's run: deleting the run frees its traces' ids along with the traces. */
    runId: text('run_id'),
    /** SHA-256 of the trace's content (everything but the id; the time only when the caller gave it). */
    fingerprint: text('fingerprint').notNull(),
    /** The trace's createdAt as the first create settled it, so that a retry answers the same trace. */
    traceCreatedAt: text('trace_created_at').notNull(),
  },
  (t) => [index('provider_trace_ids_org_run_idx').on(t.organizationId, t.runId).where(sql`${t.runId} is not null`)],
);

/*
 * Analytics rollups (analytics/rollup-sql.ts, README "Analytics"): sums of steps and runs per organization and time
 * bucket, kept exact by statement-level triggers on steps and runs (migration 0006), so every write path (steps.create,
 * prices.recompute, run updates, deletes, retention) moves them without knowing. Missing model, provider or agent is
 * '' so that the keys can be a primary key. Run status is no key (step figures by run status need the raw tables
 * anyway): failed runs are a sum. Three levels: hours without agents (timeseries by model or provider),
 * hours with agents (edges of a range), days with agents (agents over long ranges).
 */
const rollupKey = (name: string) => text(name).notNull().default('');
const sumColumn = (name: string) => bigint(name, { mode: 'number' }).notNull().default(0);
const stepSums = () => ({
  steps: sumColumn('steps'),
  stepErrors: sumColumn('step_errors'),
  inputTokens: sumColumn('input_tokens'),
  cachedInputTokens: sumColumn('cached_input_tokens'),
  cacheWriteTokens: sumColumn('cache_write_tokens'),
  outputTokens: sumColumn('output_tokens'),
  reasoningTokens: sumColumn('reasoning_tokens'),
  totalTokens: sumColumn('total_tokens'),
  costPusd: bigint('cost_pusd', { mode: 'bigint' }).notNull().default(sql`0`),
  unpricedTokens: sumColumn('unpriced_tokens'),
  llmNs: bigint('llm_ns', { mode: 'bigint' }).notNull().default(sql`0`),
});
/** Counts per bucket of analytics/latency-histogram.ts: `d<k>` run durations, `t<k>` times to first token. */
const histogramColumns = (prefix: 'd' | 't') =>
  Object.fromEntries(
    Array.from({ length: HISTOGRAM_BUCKETS }, (_, k) => [
      `${prefix}${k}`,
      integer(`${prefix}${k}`).notNull().default(0),
    ]),
  );
const runSums = () => ({
  runs: sumColumn('runs'),
  failedRuns: sumColumn('failed_runs'),
  ...histogramColumns('d'),
  ...histogramColumns('t'),
});

const rollupTable = <S extends Record<string, PgColumnBuilderBase>>(name: string, sums: S) =>
  pgTable(
    name,
    {
      organizationId: text('organization_id').notNull(),
      bucket: timestamptz('bucket').notNull(),
      model: rollupKey('model'),
      provider: rollupKey('provider'),
      ...sums,
    },
    (t) => [primaryKey({ columns: [t.organizationId, t.bucket, t.model, t.provider] })],
  );
const agentRollupTable = <S extends Record<string, PgColumnBuilderBase>>(name: string, sums: S) =>
  pgTable(
    name,
    {
      organizationId: text('organization_id').notNull(),
      bucket: timestamptz('bucket').notNull(),
      agentId: rollupKey('agent_id'),
      model: rollupKey('model'),
      provider: rollupKey('provider'),
      ...sums,
    },
    (t) => [primaryKey({ columns: [t.organizationId, t.bucket, t.agentId, t.model, t.provider] })],
  );

export const analyticsStepsHourly = rollupTable('analytics_steps_hourly', stepSums());
export const analyticsAgentStepsHourly = agentRollupTable('analytics_agent_steps_hourly', stepSums());
export const analyticsAgentStepsDaily = agentRollupTable('analytics_agent_steps_daily', stepSums());
export const analyticsRunsHourly = rollupTable('analytics_runs_hourly', runSums());
export const analyticsAgentRunsHourly = agentRollupTable('analytics_agent_runs_hourly', runSums());
export const analyticsAgentRunsDaily = agentRollupTable('analytics_agent_runs_daily', runSums());
