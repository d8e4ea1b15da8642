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
import { requireRun, runNotFound, withRunsLocked } from '../runs/require-run.ts';
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

/** What a run's new steps add to its totals. */
interface RunTotalsDelta {
  runId: string;
  steps: number;
  failed: number;
  totalTokens: number;
  unpriced: number;
  cost: bigint | null;
  llmNs: bigint | null;
  model: string | null;
  providerName: string | null;
}

/** The delta of one run's new steps, in the order they were recorded (its first step names its model and provider). */
function totalsDelta(runId: string, added: readonly StepRow[]): RunTotalsDelta {
  const delta: RunTotalsDelta = {
    runId,
    steps: added.length,
    failed: 0,
    totalTokens: 0,
    unpriced: 0,
    cost: null,
    llmNs: null,
    model: added.find((step) => step.model !== null)?.model ?? null,
    providerName: added.find((step) => step.providerName !== null)?.providerName ?? null,
  };
  for (const step of added) {
    if (step.status === 'failed' || step.errorType !== null) delta.failed += 1;
    delta.totalTokens += step.totalTokens;
    delta.unpriced += step.unpricedTokens ?? step.totalTokens;
    if (step.costPusd !== null) delta.cost = (delta.cost ?? 0n) + BigInt(step.costPusd);
    if (step.llmRequestNs !== null) delta.llmNs = (delta.llmNs ?? 0n) + BigInt(step.llmRequestNs);
  }
  return delta;
}

const column = (c: { name: string }) => sql.raw(`"${c.name}"`);

/**
 * Adds new steps to their runs' totals and their metrics' step counts, every run in one statement (README, Cost and
 * analytics). A run's model and provider are its first step's, as the migration that added them backfilled them.
 */
async function addToRunTotals(db: Db, deltas: readonly RunTotalsDelta[]): Promise<void> {
  if (deltas.length === 0) return;
  const rows = sql.join(
    deltas.map(
      (d) =>
        sql`(${d.runId}::text, ${d.steps}::int, ${d.failed}::int, ${d.totalTokens}::bigint, ${d.unpriced}::bigint,
          ${d.cost?.toString() ?? null}::bigint, ${d.llmNs?.toString() ?? null}::bigint, ${d.model}::text,
          ${d.providerName}::text)`,
    ),
    sql`, `,
  );
  await db.execute(sql`
    with delta (run_id, steps, failed, tokens, unpriced, cost, llm_ns, model, provider) as (values ${rows}),
    metrics as (
      update ${runMetrics} set ${column(runMetrics.numSteps)} = ${runMetrics.numSteps} + delta.steps
      from delta where ${runMetrics.id} = delta.run_id
    )
    update ${runs} set
      ${column(runs.stepCount)} = ${runs.stepCount} + delta.steps,
      ${column(runs.stepErrors)} = ${runs.stepErrors} + delta.failed,
      ${column(runs.totalTokens)} = ${runs.totalTokens} + delta.tokens,
      ${column(runs.costPusd)} = case when delta.cost is null then ${runs.costPusd}
        else coalesce(${runs.costPusd}, 0) + delta.cost end,
      ${column(runs.unpricedTokens)} = ${runs.unpricedTokens} + delta.unpriced,
      ${column(runs.llmNs)} = case when delta.llm_ns is null then ${runs.llmNs}
        else coalesce(${runs.llmNs}, 0) + delta.llm_ns end,
      ${column(runs.model)} = coalesce(${runs.model}, delta.model),
      ${column(runs.provider)} = coalesce(${runs.provider}, lower(delta.provider))
    from delta where ${runs.id} = delta.run_id`);
}

/** The created_at of the next step of `runId` in one insert: the default for its first, then a microsecond apart. */
function createdAfter(position: Map<string, number>, runId: string): { createdAt?: SQL } {
  const k = position.get(runId) ?? 0;
  position.set(runId, k + 1);
  return k === 0 ? {} : { createdAt: sql`clock_timestamp() + ${k} * interval '1 microsecond'` };
}

/** A thrown value as an Error (what {@link StepManager.createMany} answers a step with). */
const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/** A step input checked, with what its insert needs; `index` is its place among a batch's inputs. */
interface StepToInsert {
  index: number;
  input: CreateStepInput & { runId: string; promptTokens: number; completionTokens: number };
  id: string;
  content: Omit<ReturnType<typeof createStepInput.parse>, 'id'>;
  createFingerprint: string;
  totalTokens: number;
  usage: ReturnType<typeof usageTypes>;
}

function stepToInsert(raw: CreateStepInput): Omit<StepToInsert, 'index'> {
  const input = createStepInput.parse(raw);
  const { id: clientId, ...content } = input;
  return {
    input,
    id: clientId ?? newId('step'),
    content,
    createFingerprint: fingerprint(content),
    totalTokens: input.totalTokens ?? input.promptTokens + input.completionTokens,
    usage: usageTypes(input),
  };
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
    const [answer] = await this.createMany(actor, [raw]);
    if (answer instanceof Error) throw answer;
    return answer as Step;
  }

  /**
   * Records several steps in one transaction, each as {@link create} would. Each input has its own answer: the step,
   * or the error its create would have thrown (which then wrote nothing of it). An error of the writes themselves
   * (Postgres) rolls back every step and is thrown.
   */
  async createMany(actor: Actor, raws: readonly CreateStepInput[]): Promise<(Step | Error)[]> {
    const answers: (Step | Error)[] = [];
    const pending: StepToInsert[] = [];
    raws.forEach((raw, index) => {
      try {
        pending.push({ index, ...stepToInsert(raw) });
      } catch (err) {
        answers[index] = asError(err);
      }
    });
    if (pending.length === 0) return answers;
    // Matched on this process's clock before the insert, and checked against the row's own created_at after it:
    // the price can only differ when an effective date falls between the two.
    const prices = await this.#prices.prices(actor.organizationId);
    const priceAt = (step: StepToInsert, at: string): Price | null =>
      selectPrice(prices, { provider: step.input.providerName, model: step.input.model, at });
    const now = toIso(new Date());
    // Locked before any step is written: batches over the same runs wait for each other instead of deadlocking on
    // their steps' ids or their runs' totals.
    const written = await withRunsLocked(
      this.#db,
      actor,
      pending.map((p) => p.input.runId),
      async (tx, locked) => {
        const insertable: (StepToInsert & { agentId: string; guess: Price | null })[] = [];
        for (const step of pending) {
          const agentId = locked.get(step.input.runId)?.agentId;
          if (agentId === undefined) answers[step.index] = runNotFound(step.input.runId);
          else insertable.push({ ...step, agentId, guess: priceAt(step, now) });
        }
        if (insertable.length === 0) return [];
        // A run's steps list in created_at order: within one statement each later step of a run is stamped at least a
        // microsecond after the one before it, as separate creates would be (clock_timestamp() may repeat a value).
        const position = new Map<string, number>();
        const inserted = await tx
          .insert(steps)
          .values(
            insertable.map((step) => ({
              ...step.content,
              ...createdAfter(position, step.input.runId),
              ...costColumns(costOf(step.usage, step.totalTokens, step.guess)),
              id: step.id,
              organizationId: actor.organizationId,
              agentId: step.agentId,
              totalTokens: step.totalTokens,
              createFingerprint: step.createFingerprint,
            })),
          )
          .onConflictDoNothing()
          .returning();
        const insertedById = new Map(inserted.map((row) => [row.id, row]));
        const takenIds = insertable.filter((step) => !insertedById.has(step.id)).map((step) => step.id);
        const existing = takenIds.length ? await tx.select().from(steps).where(inArray(steps.id, takenIds)) : [];
        const existingById = new Map(existing.map((row) => [row.id, row]));
        const added = new Map<string, StepRow[]>();
        const firstOf = new Map<string, StepToInsert>();
        for (const step of insertable) if (!firstOf.has(step.id)) firstOf.set(step.id, step);
        for (const step of insertable) {
          let row = insertedById.get(step.id);
          if (!row || firstOf.get(step.id) !== step) {
            // written before (a retry, or taken), by a concurrent create, or by an earlier input of this batch
            const held = existingById.get(step.id) ?? insertedById.get(step.id);
            answers[step.index] =
              held?.organizationId === actor.organizationId && held.createFingerprint === step.createFingerprint
                ? toStep(held)
                : idTaken(step.id);
            continue;
          }
          const price = priceAt(step, toIso(row.createdAt));
          if (price !== step.guess) {
            [row = row] = await tx
              .update(steps)
              .set(costColumns(costOf(step.usage, step.totalTokens, price)))
              .where(eq(steps.id, step.id))
              .returning();
            insertedById.set(step.id, row);
          }
          const list = added.get(step.input.runId) ?? [];
          list.push(row);
          added.set(step.input.runId, list);
          answers[step.index] = toStep(row);
        }
        await addToRunTotals(
          tx,
          [...added].map(([runId, list]) => totalsDelta(runId, list)),
        );
        return [...added.values()].flat();
      },
    );
    for (const row of written) this.#analytics?.stepWritten(actor, row);
    return answers;
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
