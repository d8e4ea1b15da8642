import { createStepInput, stepIdInput } from '@runtrace/core';
import { publicProcedure } from '../trpc.ts';

export const stepsRouter = {
  retrieve: publicProcedure.input(stepIdInput).query(({ ctx, input }) => ctx.runtime.steps.retrieve(ctx.actor, input)),
  create: publicProcedure.input(createStepInput).mutation(({ ctx, input }) => ctx.runtime.steps.create(ctx.actor, input)),
};
