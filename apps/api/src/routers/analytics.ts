import { summaryInput, timeseriesInput } from '@runtrace/core';
import { publicProcedure } from '../trpc.ts';

export const analyticsRouter = {
  /**
   * Runs, steps, errors, tokens by type, cost, unpriced tokens, latency percentiles and LLM time per UTC hour or day,
   * optionally per agent, model, provider or run status, over the caller's organization.
   */
  timeseries: publicProcedure
    .input(timeseriesInput)
    .query(({ ctx, input }) => ctx.runtime.analytics.timeseries(ctx.actor, input)),
  /** The same figures over the whole range, with the top agents and models by cost and by p95 latency. */
  summary: publicProcedure
    .input(summaryInput)
    .query(({ ctx, input }) => ctx.runtime.analytics.summary(ctx.actor, input)),
};
