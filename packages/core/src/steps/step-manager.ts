import { and, eq, gt, inArray, isNotNull, isNull, lt, type SQL, sql } from 'drizzle-orm';
import type { Actor } from '../actor.ts';
import type { AnalyticsFeed } from '../analytics/clickhouse/analytics-feed.ts';
import type { Db } from '../db/connect.ts';
import { runMetrics, runs, steps } from '../db/schema.ts';
import { NotFound } from '../errors.ts';
import { assertId, idTaken, newId } from '../ids.ts';
import { fingerprint } from '../json.ts';
import { type Order, type Page, type PageWindow, timestampCursor, timestampPage } from '../pagination.ts';
import { formatUsd } from '../pricing/money.ts';
import { costOf, type Price, type StepCost, selectPrice } from '../pricing/price.ts';
import { PriceBook } from '../pricing/price-book.ts';
import { usageTypes } from '../pricing/usage-types.ts';
import { requireRun } from '../runs/require-run.ts';
import { nsToString, toIso } from '../time.ts';
import { requireStep } from './require-step.ts';
import {
  type CreateStepInput,
  createStepInput,
  type ListRunStepsInput,
  type ListStepsInput,
  listRunStepsInput,
  listStepsInput,
  type Step,
  type StepFeedbackInput,
  type StepIdInput,
  stepFeedbackInput,
  stepIdInput,
} from './schemas.ts';

/** Cursors of the organization-wide list and of one run's steps belong to different lists. */
const STEPS_SCOPE = 'steps';
const runStepsScope = (runId: string) => `steps:${runId}`;

type StepRow = typeof steps.$inferSelect;

function toStep(row: StepRow): Step {
  // Steps recorded before pricing have no usage types stored until prices.recompute reaches them: the same rule
  // derives them from the counts, and all their tokens are unpriced.
  const usage =
    row.inputTokens === null
      ? usageTypes(row)
      : {
          input: row.inputTokens,
          cachedInput: row.cachedInputTokens ?? 0,
          cacheWrite: row.cacheWriteTokens ?? 0,
          output: row.outputTokens ?? 0,
          reasoning: row.reasoningTokens ?? 0,
        };
  return {
    id: row.id,
    runId: row.runId,
    agentId: row.agentId,
    origin: row.origin,
    providerId: row.providerId,
    providerName: row.providerName,
    providerCategory: row.providerCategory,
    model: row.model,
    modelEndpoint: row.modelEndpoint,
    contextWindowLimit: row.contextWindowLimit,
    promptTokens: row.promptTokens,
    completionTokens: row.completionTokens,
    totalTokens: row.totalTokens,
    promptTokensDetails: row.promptTokensDetails ?? null,
    completionTokensDetails: row.completionTokensDetails ?? null,
    stopReason: row.stopReason,
    tags: row.tags,
    tid: row.tid,
    traceId: row.traceId,
    requestId: row.requestId,
    feedback: row.feedback,
    projectId: row.projectId,
    errorType: row.errorType,
    errorData: row.errorData ?? null,
    status: row.status as Step['status'],
    stepStartNs: nsToString(row.stepStartNs),
    llmRequestStartNs: nsToString(row.llmRequestStartNs),
    llmRequestNs: nsToString(row.llmRequestNs),
    toolExecutionNs: nsToString(row.toolExecutionNs),
    stepNs: nsToString(row.stepNs),
    inputTokens: usage.input,
    cachedInputTokens: usage.cachedInput,
    cacheWriteTokens: usage.cacheWrite,
    outputTokens: usage.output,
    reasoningTokens: usage.reasoning,
    costUsd: row.costPusd === null ? null : formatUsd(row.costPusd),
    unpricedTokens: row.unpricedTokens ?? row.totalTokens,
    priceId: row.priceId,
    createdAt: toIso(row.createdAt),
  };
}

/** The step columns of a {@link StepCost}. */
function costColumns(cost: StepCost) {
  return {
    inputTokens: cost.usage.input,
    cachedInputTokens: cost.usage.cachedInput,
    cacheWriteTokens: cost.usage.cacheWrite,
    outputTokens: cost.usage.output,
    reasoningTokens: cost.usage.reasoning,
    costPusd: cost.costPusd,
    unpricedTokens: cost.unpricedTokens,
    priceId: cost.priceId,
  };
}

/**
 * Adds a new step to its run's totals, in one UPDATE (README, Cost and analytics). The run's model and
 * provider are its first step's, as the migration that added them backfilled them.
 */
async function addToRunTotals(db: Db, step: StepRow): Promise<void> {
  const failed = step.status === 'failed' || step.errorType !== null ? 1 : 0;
  const cost = step.costPusd;
  const llmNs = step.llmRequestNs;
  await db
    .update(runs)
    .set({
      stepCount: sql`${runs.stepCount} + 1`,
      stepErrors: sql`${runs.stepErrors} + ${failed}`,
      totalTokens: sql`${runs.totalTokens} + ${step.totalTokens}`,
      costPusd: cost === null ? undefined : sql`coalesce(${runs.costPusd}, 0) + ${cost}::bigint`,
      unpricedTokens: sql`${runs.unpricedTokens} + ${step.unpricedTokens ?? step.totalTokens}`,
      llmNs: llmNs === null ? undefined : sql`coalesce(${runs.llmNs}, 0) + ${llmNs}::bigint`,
      model: sql`coalesce(${runs.model}, ${step.model})`,
      provider: sql`coalesce(${runs.provider}, lower(${step.providerName}))`,
    })
    .where(eq(runs.id, step.runId));
}

/** Steps of runs: each LLM call an agent made, with its tokens, timings and errors. */
export class StepManager {
  readonly #db: Db;
  readonly #prices: PriceBook;
  readonly #analytics: Pick<AnalyticsFeed, 'stepWritten'> | null;

  /**
   * @param options.prices the organizations' prices, shared with the price manager that invalidates them.
   * @param options.analytics copies each recorded step and its run to ClickHouse (RUNTRACE_ANALYTICS_SOURCE=clickhouse).
   */
  constructor(options: { db: Db; prices?: PriceBook; analytics?: Pick<AnalyticsFeed, 'stepWritten'> | null }) {
    this.#db = options.db;
    this.#prices = options.prices ?? new PriceBook(options.db);
    this.#analytics = options.analytics ?? null;
  }

  /**
   * Records a step, priced at the price in effect at its time, and adds it to its run's totals in the same
   * transaction (an idempotent retry adds nothing).
   */
  async create(actor: Actor, raw: CreateStepInput): Promise<Step> {
    const input = createStepInput.parse(raw);
    const { id: clientId, ...content } = input;
    const id = clientId ?? newId('step');
    const createFingerprint = fingerprint(content);
    const totalTokens = input.totalTokens ?? input.promptTokens + input.completionTokens;
    const usage = usageTypes(input);
    // Matched on this process's clock before the insert, and checked against the row's own created_at after it:
    // the price can only differ when an effective date falls between the two.
    const prices = await this.#prices.prices(actor.organizationId);
    const priceAt = (at: string): Price | null =>
      selectPrice(prices, { provider: input.providerName, model: input.model, at });
    const guess = priceAt(toIso(new Date()));
    const row = await this.#db.transaction(async (tx) => {
      const run = await requireRun(tx, actor, input.runId);
      const [inserted] = await tx
        .insert(steps)
        .values({
          ...content,
          ...costColumns(costOf(usage, totalTokens, guess)),
          id,
          organizationId: actor.organizationId,
          agentId: run.agentId,
          totalTokens,
          createFingerprint,
        })
        .onConflictDoNothing()
        .returning();
      if (!inserted) {
        const [existing] = await tx.select().from(steps).where(eq(steps.id, id));
        if (existing?.organizationId === actor.organizationId && existing.createFingerprint === createFingerprint) {
          return existing;
        }
        throw idTaken(id);
      }
      let step = inserted;
      const price = priceAt(toIso(inserted.createdAt));
      if (price !== guess) {
        [step = inserted] = await tx
          .update(steps)
          .set(costColumns(costOf(usage, totalTokens, price)))
          .where(eq(steps.id, id))
          .returning();
      }
      await addToRunTotals(tx, step);
      await tx
        .update(runMetrics)
        .set({ numSteps: sql`${runMetrics.numSteps} + 1` })
        .where(eq(runMetrics.id, input.runId));
      return step;
    });
    this.#analytics?.stepWritten(actor, row);
    return toStep(row);
  }

  async retrieve(actor: Actor, raw: StepIdInput): Promise<Step> {
    const { stepId } = stepIdInput.parse(raw);
    return toStep(await requireStep(this.#db, actor, stepId));
  }

  /** Sets (or clears) a step's feedback; non-empty `tags` replace its tags. */
  async setFeedback(actor: Actor, raw: StepFeedbackInput): Promise<Step> {
    const input = stepFeedbackInput.parse(raw);
    const set: Partial<typeof steps.$inferInsert> = { feedback: input.feedback ?? null };
    if (input.tags?.length) set.tags = input.tags;
    const [row] = await this.#db
      .update(steps)
      .set(set)
      .where(and(eq(steps.id, input.stepId), eq(steps.organizationId, actor.organizationId)))
      .returning();
    if (!row) throw new NotFound(`Step ${input.stepId} not found`, { field: 'stepId' });
    return toStep(row);
  }

  /** The organization's steps, newest first by default, with Letta's filters. */
  async list(actor: Actor, raw: ListStepsInput, window: PageWindow = {}): Promise<Page<Step>> {
    const input = listStepsInput.parse(raw);
    const where: SQL[] = [eq(steps.organizationId, actor.organizationId)];
    if (input.agentId != null) where.push(eq(steps.agentId, input.agentId));
    if (input.model != null) where.push(eq(steps.model, input.model));
    if (input.traceIds) where.push(input.traceIds.length ? inArray(steps.traceId, input.traceIds) : sql`false`);
    if (input.feedback != null) where.push(eq(steps.feedback, input.feedback));
    if (input.hasFeedback != null) where.push(input.hasFeedback ? isNotNull(steps.feedback) : isNull(steps.feedback));
    if (input.tags?.length) where.push(sql`${steps.tags} @> ${JSON.stringify(input.tags)}::jsonb`);
    if (input.projectId != null) where.push(eq(steps.projectId, input.projectId));
    if (input.startDate) where.push(gt(steps.createdAt, new Date(input.startDate).toISOString()));
    if (input.endDate) where.push(lt(steps.createdAt, new Date(input.endDate).toISOString()));
    return this.#page(STEPS_SCOPE, where, input, window);
  }

  /** A run's steps, newest first by default. */
  async listByRun(actor: Actor, raw: ListRunStepsInput, window: PageWindow = {}): Promise<Page<Step>> {
    const input = listRunStepsInput.parse(raw);
    await requireRun(this.#db, actor, input.runId);
    const where = [eq(steps.organizationId, actor.organizationId), eq(steps.runId, input.runId)];
    return this.#page(runStepsScope(input.runId), where, input, window);
  }

  /**
   * The cursor of a step list in `order` positioned at this step (the Letta REST layer's `after`/`before` ids):
   * of `steps.list`, or with `runId` of that run's steps. NotFound for an unknown step, or one of another run.
   */
  async cursorFor(actor: Actor, stepId: string, order: Order, runId?: string): Promise<string> {
    const row = await requireStep(this.#db, actor, assertId('step', stepId));
    if (runId !== undefined && row.runId !== runId) {
      throw new NotFound(`Step ${stepId} not found in run ${runId}`, { field: 'stepId' });
    }
    return timestampCursor(runId === undefined ? STEPS_SCOPE : runStepsScope(runId), order, row.createdAt, row.id);
  }

  #page(
    scope: string,
    where: SQL[],
    input: { order: Order; limit: number; cursor?: string | null | undefined },
    window: PageWindow,
  ): Promise<Page<Step>> {
    return timestampPage({
      scope,
      order: input.order,
      limit: input.limit,
      cursor: input.cursor,
      until: window.until,
      createdAt: steps.createdAt,
      id: steps.id,
      where,
      fetch: (where, orderBy, limit) =>
        this.#db
          .select()
          .from(steps)
          .where(where)
          .orderBy(...orderBy)
          .limit(limit),
      keyOf: (r) => r,
      map: toStep,
    });
  }
}
