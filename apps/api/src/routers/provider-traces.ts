import { listRunTracesInput, providerTraceInput } from '@runtrace/core/telemetry';
import { publicProcedure } from '../trpc.ts';

export const providerTracesRouter = {
  /** Records one LLM call's raw request and response in every configured telemetry backend. */
  create: publicProcedure
    .input(providerTraceInput)
    .mutation(({ ctx, input }) => ctx.runtime.providerTraces.create(ctx.actor, input)),
  /** A run's provider traces (oldest first) from the primary backend. */
  list: publicProcedure
    .input(listRunTracesInput)
    .query(({ ctx, input }) => ctx.runtime.providerTraces.listByRun(ctx.actor, input)),
  /**
   * Per backend: the caller's organization's writes (ok, failed, timed out), drops and possible losses, and the
   * backend's own queue depth/bytes and reconnects. /metrics has the totals over every organization.
   */
  health: publicProcedure.query(({ ctx }) => ({
    backends: ctx.runtime.telemetry.metrics.health(ctx.actor.organizationId),
  })),
};
