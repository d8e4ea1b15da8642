import { deletePriceInput, listPricesInput, recomputePricesInput, upsertPriceInput } from '@runtrace/core/pricing';
import { publicProcedure } from '../trpc.ts';

/** Batches (of up to 5,000 steps) one prices.recompute request works through when it does not say. */
export const RECOMPUTE_BATCHES_PER_CALL = 20;

export const pricesRouter = {
  /** The organization's prices; with `includeDefaults`, the shipped defaults too (`isDefault: true`). */
  list: publicProcedure.input(listPricesInput).query(({ ctx, input }) => ctx.runtime.prices.list(ctx.actor, input)),
  /**
   * Adds a price version, or replaces the one with the same provider, model or pattern and effective date. New steps
   * are priced with it at once; recorded steps keep their cost until `prices.recompute`.
   */
  upsert: publicProcedure
    .input(upsertPriceInput)
    .mutation(({ ctx, input }) => ctx.runtime.prices.upsert(ctx.actor, input)),
  /** Deletes one of the organization's prices (defaults cannot be deleted: override them). */
  delete: publicProcedure
    .input(deletePriceInput)
    .mutation(({ ctx, input }) => ctx.runtime.prices.delete(ctx.actor, input)),
  /**
   * Re-prices the organization's steps created in [from, to) and their runs' totals, in batches; the same call
   * resumes an unfinished one. Answers `{ id, stepsDone, done }` after at most `maxBatches` batches
   * ({@link RECOMPUTE_BATCHES_PER_CALL} unless given), so that a request over millions of steps ends within seconds
   * instead of outliving proxies' timeouts: call again until `done` (the CLI does).
   */
  recompute: publicProcedure
    .input(recomputePricesInput)
    .mutation(({ ctx, input }) =>
      ctx.runtime.prices.recompute(ctx.actor, { ...input, maxBatches: input.maxBatches ?? RECOMPUTE_BATCHES_PER_CALL }),
    ),
};
