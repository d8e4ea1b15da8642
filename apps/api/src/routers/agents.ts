import { listAgentsInput } from '@runtrace/core/runs';
import { publicProcedure } from '../trpc.ts';

export const agentsRouter = {
  list: publicProcedure
    .input(listAgentsInput.prefault({}))
    .query(({ ctx, input }) => ctx.runtime.agents.list(ctx.actor, input)),
};
