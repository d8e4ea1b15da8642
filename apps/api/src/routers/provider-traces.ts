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
   * The caller's view of telemetry health since this api process started (`now`: its clock, epoch ms, so that the
   * `last…At` times can be aged without trusting the browser's clock):
   * - `backends`: per provider-trace backend, the caller's organization's writes (ok, failed, timed out), their
   *   latency (p50/p99 from the same buckets as /metrics' histogram, over the organization's own writes), drops and
   *   possible losses; queue depth/bytes and reconnects are the backend's own (shared by every organization, and
   *   telling nothing about any tenant's traces);
   * - `otlp`: the organization's `POST /v1/traces` spans and requests by outcome, refused spans by reason; `server`
   *   holds process-wide figures that name no organization (spans of every caller waiting for their INSERT, and
   *   requests refused before any caller was known).
   * /metrics has the totals over every organization.
   */
  health: publicProcedure.query(({ ctx }) => {
    const { runtime, actor } = ctx;
    const stats = runtime.traces.stats();
    return {
      now: Date.now(),
      backends: runtime.telemetry.metrics.health(actor.organizationId),
      otlp: {
        enabled: runtime.traces.enabled,
        ...runtime.traces.statsFor(actor.organizationId),
        server: {
          queueDepth: stats.queueDepth,
          queueBytes: stats.queueBytes,
          unattributedRequests: runtime.traces.unattributedRequests(),
        },
      },
    };
  }),
};
