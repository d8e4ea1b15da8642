import { createStepInput, stepIdInput } from '@runtrace/core/runs';
import { stepTraceInput } from '@runtrace/core/telemetry';
import { publicProcedure } from '../trpc.ts';

export const stepsRouter = {
  retrieve: publicProcedure.input(stepIdInput).query(({ ctx, input }) => ctx.runtime.steps.retrieve(ctx.actor, input)),
  /** The step's provider trace from the primary telemetry backend; null when it has none. */
  trace: publicProcedure
    .input(stepTraceInput)
    .query(({ ctx, input }) => ctx.runtime.providerTraces.forStep(ctx.actor, input)),
  create: publicProcedure
    .input(createStepInput)
    .mutation(({ ctx, input }) => ctx.runtime.steps.create(ctx.actor, input)),
};
