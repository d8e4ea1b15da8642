import { agentsRouter } from './routers/agents.ts';
import { analyticsRouter } from './routers/analytics.ts';
import { messagesRouter } from './routers/messages.ts';
import { pricesRouter } from './routers/prices.ts';
import { providerTracesRouter } from './routers/provider-traces.ts';
import { retentionRouter } from './routers/retention.ts';
import { runsRouter } from './routers/runs.ts';
import { stepsRouter } from './routers/steps.ts';
import { router } from './trpc.ts';

export const appRouter = router({
  runs: runsRouter,
  steps: stepsRouter,
  messages: messagesRouter,
  agents: agentsRouter,
  providerTraces: providerTracesRouter,
  retention: retentionRouter,
  prices: pricesRouter,
  analytics: analyticsRouter,
});

export type AppRouter = typeof appRouter;
