import { idSchema } from '@runtrace/core';
import {
  countRunsInput,
  createRunInput,
  listActiveRunsInput,
  listRunMessagesInput,
  listRunStepsInput,
  listRunsInput,
  type Run,
  type RunStatus,
  runIdInput,
  updateRunInput,
} from '@runtrace/core/runs';
import { appendEventsInput, runEventSchema, streamRunInput } from '@runtrace/core/streams';
import { runTraceInput, type TraceUpdate, traceUpdatesInput } from '@runtrace/core/traces';
import { tracked } from '@trpc/server';
import { z } from 'zod';
import { withKeepalive } from '../keepalive.ts';
import { publicProcedure } from '../trpc.ts';

/** Most events one `runs.appendEvents` call carries. */
export const MAX_APPEND_EVENTS = 1000;

const appendEventsApiInput = appendEventsInput.extend({
  events: z.array(runEventSchema).min(1).max(MAX_APPEND_EVENTS),
});

const streamApiInput = streamRunInput.extend({
  /** Yield `{ messageType: 'ping' }` (no id) whenever the stream has been quiet for the server's keepalive interval. */
  includePings: z.boolean().default(false),
});

const changesInput = z
  .strictObject({
    /** Only this agent's runs. */
    agentId: idSchema('agent').nullish(),
    /** Sent back by tRPC's client on reconnect; ignored: the change feed is live only (not durable). */
    lastEventId: z.string().max(100).nullish(),
  })
  .optional();

/** A keepalive of `runs.stream({ includePings: true })`: never tracked, so it moves no cursor. */
export interface StreamPing {
  messageType: 'ping';
}

/** What `runs.changes` delivers: a run of the caller's organization was created, changed status, or was deleted. */
export interface RunChangeEvent {
  type: 'created' | 'status_changed' | 'deleted';
  run: Run;
  /** The status before a status change; null for `created`. */
  previousStatus: RunStatus | null;
}

export const runsRouter = {
  list: publicProcedure
    .input(listRunsInput.prefault({}))
    .query(({ ctx, input }) => ctx.runtime.runs.list(ctx.actor, input)),
  /**
   * How many runs pass runs.list's filters, counting at most MAX_RUN_COUNT (10,000): `{ count, capped }`, capped
   * meaning "at least count". Bounded so that it costs the same over a million runs.
   */
  count: publicProcedure
    .input(countRunsInput.prefault({}))
    .query(({ ctx, input }) => ctx.runtime.runs.count(ctx.actor, input)),
  listActive: publicProcedure
    .input(listActiveRunsInput.prefault({}))
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
  /**
   * The run's OpenTelemetry trace for a trace view: agent steps, tool executions, root spans and time to first token
   * of every trace id its steps carry, oldest first (nanoseconds as strings). NOT_IMPLEMENTED with CLICKHOUSE_URL=off.
   */
  trace: publicProcedure.input(runTraceInput).query(({ ctx, input }) => ctx.runtime.traces.forRun(ctx.actor, input)),

  /**
   * runs.trace live: first `{ kind: 'snapshot', spans }` (what runs.trace answers, same input), then `{ kind: 'spans',
   * spans }` as spans of the run's traces are ingested by any api process (merge by spanId), following trace ids its
   * steps gain. A subscriber too slow to take them gets a new snapshot instead (it replaces what it holds). No resume
   * point: a reconnect starts with a snapshot. NOT_FOUND / NOT_IMPLEMENTED as runs.trace.
   */
  traceUpdates: publicProcedure
    .input(traceUpdatesInput)
    .subscription(async ({ ctx, input }): Promise<AsyncIterable<TraceUpdate>> => {
      return ctx.runtime.traces.updates(ctx.actor, input, ctx.signal);
    }),

  /**
   * Appends events to a background run's stream; `end: true` (with a stop_reason among the events) ends the stream
   * and sets the run's status. Returns the events' ids.
   */
  appendEvents: publicProcedure
    .input(appendEventsApiInput)
    .mutation(({ ctx, input }) => ctx.runtime.streams.appendEvents(ctx.actor, input)),

  /**
   * A background run's events over SSE, each `tracked(id, event)` (so the client resumes after the last one it got),
   * from `lastEventId` (tRPC's, wins) or after `startingAfter`; ends after the stream's end. The checks (run, not
   * background, expired) happen before the stream opens; the reader is released as soon as the client leaves
   * (`ctx.signal`), and a server shutting down ends it with SERVICE_UNAVAILABLE (the client reconnects).
   */
  stream: publicProcedure.input(streamApiInput).subscription(async ({ ctx, input }) => {
    const { includePings, ...read } = input;
    const items = await ctx.runtime.streams.subscribe(ctx.actor, { ...read, signal: ctx.signal });
    async function* events() {
      for await (const item of items) {
        if (item.kind === 'end') return;
        yield tracked(item.id, item.event);
      }
    }
    if (!includePings) return events();
    const ping = (): StreamPing => ({ messageType: 'ping' });
    return withKeepalive(events(), { intervalMs: ctx.settings.streamKeepaliveMs, ping, signal: ctx.signal });
  }),

  /** The caller organization's runs as they are created, change status or are deleted (live only, not replayed). */
  changes: publicProcedure.input(changesInput).subscription(async ({ ctx, input }) => {
    const changes = await ctx.runtime.runChanges.subscribe(ctx.actor.organizationId, ctx.signal);
    const agentId = input?.agentId ?? null;
    return (async function* (): AsyncGenerator<RunChangeEvent, void> {
      for await (const change of changes) {
        if (agentId && change.run.agentId !== agentId) continue;
        if (change.type === 'updated') {
          if (change.previousStatus === change.run.status) continue;
          yield { type: 'status_changed', run: change.run, previousStatus: change.previousStatus };
        } else {
          yield {
            type: change.type,
            run: change.run,
            previousStatus: change.type === 'created' ? null : change.previousStatus,
          };
        }
      }
    })();
  }),
};
