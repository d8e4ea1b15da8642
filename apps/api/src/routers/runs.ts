import {
  createRunInput,
  listActiveRunsInput,
  listRunMessagesInput,
  listRunStepsInput,
  listRunsInput,
  runIdInput,
  updateRunInput,
} from '@runtrace/core';
import { publicProcedure } from '../trpc.ts';

export const runsRouter = {
  list: publicProcedure.input(listRunsInput).query(({ ctx, input }) => ctx.runtime.runs.list(ctx.actor, input)),
  listActive: publicProcedure
    .input(listActiveRunsInput)
    .query(({ ctx, input }) => ctx.runtime.runs.listActive(ctx.actor, input)),
  retrieve: publicProcedure.input(runIdInput).query(({ ctx, input }) => ctx.runtime.runs.retrieve(ctx.actor, input)),
  messages: publicProcedure
    .input(listRunMessagesInput)
    .query(({ ctx, input }) => ctx.runtime.messages.listByRun(ctx.actor, input)),
  usage: publicProcedure.input(runIdInput).query(({ ctx, input }) => ctx.runtime.runs.usage(ctx.actor, input)),
  metrics: publicProcedure.input(runIdInput).query(({ ctx, input }) => ctx.runtime.runs.metrics(ctx.actor, input)),
  steps: publicProcedure
    .input(listRunStepsInput)
    .query(({ ctx, input }) => ctx.runtime.steps.listByRun(ctx.actor, input)),
  create: publicProcedure.input(createRunInput).mutation(({ ctx, input }) => ctx.runtime.runs.create(ctx.actor, input)),
  update: publicProcedure.input(updateRunInput).mutation(({ ctx, input }) => ctx.runtime.runs.update(ctx.actor, input)),
  cancel: publicProcedure.input(runIdInput).mutation(({ ctx, input }) => ctx.runtime.runs.cancel(ctx.actor, input)),
  delete: publicProcedure.input(runIdInput).mutation(({ ctx, input }) => ctx.runtime.runs.delete(ctx.actor, input)),
};
