import { agentIdInput, listAgentsInput, updateAgentInput } from '@runtrace/core/runs';
import { publicProcedure } from '../trpc.ts';

export const agentsRouter = {
  list: publicProcedure
    .input(listAgentsInput.prefault({}))
    .query(({ ctx, input }) => ctx.runtime.agents.list(ctx.actor, input)),
  retrieve: publicProcedure
    .input(agentIdInput)
    .query(({ ctx, input }) => ctx.runtime.agents.retrieve(ctx.actor, input)),
  /** Sets (or with null clears) the agent's name; unlike a run's `agentName`, this replaces a name already set. */
  update: publicProcedure
    .input(updateAgentInput)
    .mutation(({ ctx, input }) => ctx.runtime.agents.update(ctx.actor, input)),
};
