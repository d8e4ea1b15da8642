import { appendMessagesInput } from '@runtrace/core/runs';
import { publicProcedure } from '../trpc.ts';

export const messagesRouter = {
  /** Appends a batch of messages to a run, in order. */
  create: publicProcedure
    .input(appendMessagesInput)
    .mutation(({ ctx, input }) => ctx.runtime.messages.append(ctx.actor, input)),
};
