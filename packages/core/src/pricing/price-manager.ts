import { and, asc, eq, sql } from 'drizzle-orm';
import type { Actor } from '../actor.ts';
import type { AnalyticsFeed } from '../analytics/clickhouse/analytics-feed.ts';
import { type Db, rowsOf } from '../db/connect.ts';
import { modelPrices, priceRecomputes } from '../db/schema.ts';
import { NotFound } from '../errors.ts';
import { newId } from '../ids.ts';
import { toIso } from '../time.ts';
import { defaultPrices } from './default-prices.ts';
import { formatPricePerMillion, parsePricePerMillion } from './money.ts';
import { costOf, normaliseProvider, type Price, priceOfRow, selectPrice } from './price.ts';
import { loadPrices, type PriceBook } from './price-book.ts';
import {
  type DeletePriceInput,
  deletePriceInput,
  type ListPricesInput,
  listPricesInput,
  MAX_RECOMPUTE_BATCH,
  type PriceOutput,
  type RecomputePricesInput,
  type RecomputeResult,
  recomputePricesInput,
  type UpsertPriceInput,
  upsertPriceInput,
} from './schemas.ts';
import { usageTypes } from './usage-types.ts';

const priceText = (ppt: bigint | null) => (ppt === null ? null : formatPricePerMillion(ppt));

function toPriceOutput(price: Price): PriceOutput {
  return {
    id: price.id,
    isDefault: price.isDefault,
    provider: price.provider,
    model: price.model,
    modelPattern: price.modelPattern,
    effectiveFrom: price.effectiveFrom,
    input: priceText(price.ppt.input) ?? '0',
    cachedInput: priceText(price.ppt.cachedInput),
    cacheWrite: priceText(price.ppt.cacheWrite),
    output: priceText(price.ppt.output) ?? '0',
    reasoning: priceText(price.ppt.reasoning),
  };
}

const byMatch = (a: Price, b: Price) =>
  (a.provider ?? '').localeCompare(b.provider ?? '') ||
  (a.model ?? a.modelPattern ?? '').localeCompare(b.model ?? b.modelPattern ?? '') ||
  a.effectiveFrom.localeCompare(b.effectiveFrom);

const priceNotFound = (priceId: string) =>
  new NotFound(
    priceId.startsWith('default:')
      ? `Price ${priceId} is a shipped default: it cannot be deleted; upsert a price of your own to override it`
      : `Price ${priceId} not found`,
    { field: 'priceId' },
  );

/** A step of a recompute batch: what pricing reads, and what its run's totals hold of it now. */
interface BatchStep {
  id: string;
  run_id: string;
  created_at: string;
  provider_name: string | null;
  model: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: Record<string, unknown> | null;
  completion_tokens_details: Record<string, unknown> | null;
  cost_pusd: string | null;
  unpriced_tokens: number;
}

/** An organization's prices (`prices.*`): its own over the shipped defaults, and re-pricing of recorded steps. */
export class PriceManager {
  readonly #db: Db;
  readonly #book: PriceBook;
  readonly #batchSize: number;
  readonly #analytics: Pick<AnalyticsFeed, 'runsChanged'> | null;

  /**
   * @param options.book the cache steps.create prices from: this manager's changes invalidate it.
   * @param options.recomputeBatchSize steps per recompute transaction. @default MAX_RECOMPUTE_BATCH
   * @param options.analytics told which runs a recompute batch re-priced, once it has committed (ClickHouse analytics).
   */
  constructor(options: {
    db: Db;
    book: PriceBook;
    recomputeBatchSize?: number;
    analytics?: Pick<AnalyticsFeed, 'runsChanged'> | null;
  }) {
    this.#db = options.db;
    this.#book = options.book;
    this.#batchSize = options.recomputeBatchSize ?? MAX_RECOMPUTE_BATCH;
    this.#analytics = options.analytics ?? null;
  }

  /** The organization's prices, and with `includeDefaults` the shipped ones, by provider, model, effective date. */
  async list(actor: Actor, raw?: ListPricesInput): Promise<{ items: PriceOutput[] }> {
    const input = listPricesInput.parse(raw);
    const rows = await this.#db.select().from(modelPrices).where(eq(modelPrices.organizationId, actor.organizationId));
    const prices = rows.map(priceOfRow).sort(byMatch);
    if (input.includeDefaults) prices.push(...[...defaultPrices()].sort(byMatch));
    return { items: prices.map(toPriceOutput) };
  }

  /**
   * Creates the price, or replaces the one with the same provider, model or pattern and effective date (keeping its
   * id, which priced steps refer to). Steps already recorded keep their cost until prices.recompute.
   */
  async upsert(actor: Actor, raw: UpsertPriceInput): Promise<PriceOutput> {
    const input = upsertPriceInput.parse(raw);
    const ppt = (text: string | null | undefined) => (text == null ? null : parsePricePerMillion(text));
    const values = {
      inputPpt: ppt(input.input) as bigint,
      cachedInputPpt: ppt(input.cachedInput),
      cacheWritePpt: ppt(input.cacheWrite),
      outputPpt: ppt(input.output) as bigint,
      reasoningPpt: ppt(input.reasoning),
    };
    const v = { ...values, provider: normaliseProvider(input.provider), model: input.model ?? null };
    // Drizzle's onConflict takes columns only; model_prices_match_idx compares provider, model and pattern null-safe.
    const [upserted] = rowsOf<{ id: string }>(
      await this.#db.execute(sql`
        insert into model_prices (id, organization_id, provider, model, model_pattern, effective_from, input_ppt,
          cached_input_ppt, cache_write_ppt, output_ppt, reasoning_ppt)
        values (${newId('price')}, ${actor.organizationId}, ${v.provider}, ${v.model}, ${input.modelPattern ?? null},
          ${toIso(input.effectiveFrom)}::timestamptz, ${v.inputPpt}, ${v.cachedInputPpt}, ${v.cacheWritePpt},
          ${v.outputPpt}, ${v.reasoningPpt})
        on conflict (organization_id, coalesce(provider, ''), coalesce(model, ''), coalesce(model_pattern, ''),
          effective_from)
        do update set input_ppt = excluded.input_ppt, cached_input_ppt = excluded.cached_input_ppt,
          cache_write_ppt = excluded.cache_write_ppt, output_ppt = excluded.output_ppt,
          reasoning_ppt = excluded.reasoning_ppt
        returning id`),
    );
    const [row] = await this.#db
      .select()
      .from(modelPrices)
      .where(eq(modelPrices.id, upserted?.id ?? ''));
    this.#book.invalidate(actor.organizationId);
    if (!row) throw new Error('prices.upsert returned no row');
    return toPriceOutput(priceOfRow(row));
  }

  /** Deletes one of the organization's prices; NotFound for an unknown id, another organization's or a default. */
  async delete(actor: Actor, raw: DeletePriceInput): Promise<PriceOutput> {
    const { priceId } = deletePriceInput.parse(raw);
    const [row] = await this.#db
      .delete(modelPrices)
      .where(and(eq(modelPrices.id, priceId), eq(modelPrices.organizationId, actor.organizationId)))
      .returning();
    this.#book.invalidate(actor.organizationId);
    if (!row) throw priceNotFound(priceId);
    return toPriceOutput(priceOfRow(row));
  }

  /**
   * Re-prices the organization's steps created in [from, to) (of `model` when given) with the prices as they are
   * now, each at the price in effect at its own time; fills the usage-type columns of steps recorded before pricing
   * and moves the difference into their runs' totals. Works in batches of up to 5,000 steps, one transaction each,
   * walking (created_at, id); where it stands is kept in price_recomputes, so a call with the same range resumes an
   * unfinished recompute (after a restart, a timeout, or `maxBatches`). Once done, the same call starts over.
   */
  async recompute(actor: Actor, raw: RecomputePricesInput): Promise<RecomputeResult> {
    const input = recomputePricesInput.parse(raw);
    const from = toIso(input.from);
    const to = toIso(input.to);
    const model = input.model ?? null;
    const state = await this.#startOrResume(actor, from, to, model);
    const prices = await loadPrices(this.#db, actor.organizationId);
    let batches = 0;
    let result: RecomputeResult = { id: state, stepsDone: 0, done: false };
    while (!result.done && (input.maxBatches === undefined || batches < input.maxBatches)) {
      const batch = await this.#db.transaction((tx) => this.#batch(tx, state, prices));
      this.#analytics?.runsChanged(batch.runIds);
      result = batch.result;
      batches++;
    }
    return result;
  }

  async #startOrResume(actor: Actor, from: string, to: string, model: string | null): Promise<string> {
    const same = and(
      eq(priceRecomputes.organizationId, actor.organizationId),
      eq(priceRecomputes.fromTime, from),
      eq(priceRecomputes.toTime, to),
      sql`${priceRecomputes.model} is not distinct from ${model}`,
      eq(priceRecomputes.status, 'running'),
    );
    const [running] = await this.#db
      .select({ id: priceRecomputes.id })
      .from(priceRecomputes)
      .where(same)
      .orderBy(asc(priceRecomputes.createdAt))
      .limit(1);
    if (running) return running.id;
    const id = newId('price').replace(/^price-/, 'price_recompute-');
    await this.#db
      .insert(priceRecomputes)
      .values({ id, organizationId: actor.organizationId, fromTime: from, toTime: to, model });
    return id;
  }

  /** One batch: locks the recompute's row (so concurrent calls take turns), re-prices the next steps, moves on. */
  async #batch(tx: Db, id: string, prices: Price[]): Promise<{ result: RecomputeResult; runIds: string[] }> {
    const [state] = await tx.select().from(priceRecomputes).where(eq(priceRecomputes.id, id)).for('update');
    if (!state) throw new NotFound(`Recompute ${id} not found`);
    if (state.status === 'done') return { result: { id, stepsDone: state.stepsDone, done: true }, runIds: [] };
    const after =
      state.afterCreatedAt === null
        ? sql`true`
        : sql`(s.created_at, s.id) > (${state.afterCreatedAt}::timestamptz, ${state.afterId})`;
    const batch = rowsOf<BatchStep>(
      await tx.execute(sql`
        select s.id, s.run_id, s.created_at::text as created_at, s.provider_name, s.model, s.prompt_tokens,
          s.completion_tokens, s.total_tokens, s.prompt_tokens_details, s.completion_tokens_details,
          s.cost_pusd::text as cost_pusd, coalesce(s.unpriced_tokens, s.total_tokens) as unpriced_tokens
        from steps s
        where s.organization_id = ${state.organizationId}
          and s.created_at >= ${state.fromTime}::timestamptz and s.created_at < ${state.toTime}::timestamptz
          ${state.model === null ? sql`` : sql`and s.model = ${state.model}`}
          and ${after}
        order by s.created_at, s.id
        limit ${this.#batchSize}
        for update`),
    );
    const updates = [];
    const runs = new Map<string, { cost: bigint; priced: boolean; unpriced: number }>();
    for (const step of batch) {
      const usage = usageTypes({
        promptTokens: Number(step.prompt_tokens),
        completionTokens: Number(step.completion_tokens),
        promptTokensDetails: step.prompt_tokens_details,
        completionTokensDetails: step.completion_tokens_details,
      });
      const price = selectPrice(prices, {
        provider: step.provider_name,
        model: step.model,
        at: toIso(step.created_at),
      });
      const cost = costOf(usage, Number(step.total_tokens), price);
      updates.push({
        id: step.id,
        input_tokens: usage.input,
        cached_input_tokens: usage.cachedInput,
        cache_write_tokens: usage.cacheWrite,
        output_tokens: usage.output,
        reasoning_tokens: usage.reasoning,
        cost_pusd: cost.costPusd?.toString() ?? null,
        unpriced_tokens: cost.unpricedTokens,
        price_id: cost.priceId,
      });
      const run = runs.get(step.run_id) ?? { cost: 0n, priced: false, unpriced: 0 };
      run.cost += (cost.costPusd ?? 0n) - BigInt(step.cost_pusd ?? 0);
      run.priced ||= cost.costPusd !== null;
      run.unpriced += cost.unpricedTokens - Number(step.unpriced_tokens);
      runs.set(step.run_id, run);
    }
    if (batch.length > 0) {
      await tx.execute(sql`
        update steps s set input_tokens = v.input_tokens, cached_input_tokens = v.cached_input_tokens,
          cache_write_tokens = v.cache_write_tokens, output_tokens = v.output_tokens,
          reasoning_tokens = v.reasoning_tokens, cost_pusd = v.cost_pusd, unpriced_tokens = v.unpriced_tokens,
          price_id = v.price_id
        from jsonb_to_recordset(${JSON.stringify(updates)}::jsonb) as v(id text, input_tokens integer,
          cached_input_tokens integer, cache_write_tokens integer, output_tokens integer, reasoning_tokens integer,
          cost_pusd bigint, unpriced_tokens integer, price_id text)
        where s.id = v.id`);
      const deltas = [...runs]
        .filter(([, d]) => d.cost !== 0n || d.priced || d.unpriced !== 0)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([run_id, d]) => ({ run_id, cost: d.cost.toString(), priced: d.priced, unpriced: d.unpriced }));
      if (deltas.length > 0) {
        // Runs locked in id order: two recomputes over overlapping runs then wait for each other, never deadlock.
        const ids = deltas.map((d) => d.run_id);
        await tx.execute(
          sql`select 1 from runs where id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)) order by id for update`,
        );
        // A run's cost stays null only while none of its steps is priced.
        await tx.execute(sql`
          update runs r set
            cost_pusd = case when d.priced or r.cost_pusd is not null then coalesce(r.cost_pusd, 0) + d.cost end,
            unpriced_tokens = r.unpriced_tokens + d.unpriced
          from jsonb_to_recordset(${JSON.stringify(deltas)}::jsonb) as d(run_id text, cost bigint, priced boolean,
            unpriced bigint)
          where r.id = d.run_id`);
      }
    }
    const last = batch.at(-1);
    const done = batch.length < this.#batchSize;
    const [saved] = await tx
      .update(priceRecomputes)
      .set({
        afterCreatedAt: last ? last.created_at : state.afterCreatedAt,
        afterId: last ? last.id : state.afterId,
        stepsDone: sql`${priceRecomputes.stepsDone} + ${batch.length}`,
        status: done ? 'done' : 'running',
        updatedAt: sql`clock_timestamp()`,
      })
      .where(eq(priceRecomputes.id, id))
      .returning({ stepsDone: priceRecomputes.stepsDone });
    return { result: { id, stepsDone: saved?.stepsDone ?? 0, done }, runIds: [...runs.keys()] };
  }
}
