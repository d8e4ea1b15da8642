import { setRetentionInput } from '@runtrace/core';
import { publicProcedure } from '../trpc.ts';

export const retentionRouter = {
  /** The caller's organization's retention: its override, the global default and what the retention job applies. */
  get: publicProcedure.query(({ ctx }) => ctx.runtime.retention.get(ctx.actor)),
  /**
   * Sets the caller's organization's retention: `{ days: N }` keeps runs N days, `'off'` keeps everything, `null`
   * follows RUNTRACE_RETENTION_DAYS. Takes effect at the retention job's next pass.
   */
  set: publicProcedure
    .input(setRetentionInput)
    .mutation(({ ctx, input }) => ctx.runtime.retention.set(ctx.actor, input)),
};
