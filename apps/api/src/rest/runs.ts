/** Letta's `/v1/runs` endpoints (letta-behavior §11) over the same managers as the tRPC `runs` procedures. */

import { clickhouseOff } from '@runtrace/core/clickhouse';
import { RUN_STATUSES, type RunStatus, STOP_REASONS } from '@runtrace/core/runs';
import { MAX_RUN_TRACE_SPANS } from '@runtrace/core/traces';
import { z } from 'zod';
import { messageListRoute } from './messages.ts';
import {
  RunMetricsShape,
  RunShape,
  SpanShape,
  StepShape,
  toLettaRun,
  toLettaRunMetrics,
  toLettaSpan,
  toLettaStep,
  toLettaUsage,
  UsageShape,
} from './shapes.ts';
import {
  cursorParam,
  idWindow,
  type LettaRoute,
  limitParam,
  orderByParam,
  orderParam,
  pageQuery,
  param,
  pathId,
  ValueError,
} from './shared.ts';
import { type StreamSettings, streamRoute } from './stream.ts';

/** Letta converts each status with `RunStatus(s)`: a ValueError (400) names the first invalid one. */
function runStatuses(values: string[] | undefined): RunStatus[] | undefined {
  if (!values) return undefined;
  for (const v of values) {
    if (!(RUN_STATUSES as readonly string[]).includes(v)) throw new ValueError(`'${v}' is not a valid RunStatus`);
  }
  return values as RunStatus[];
}

const bool = z.boolean();

const listRunsQuery = {
  agent_id: param.one(z.string().optional()),
  agent_ids: param.list(z.array(z.string()).optional(), { deprecated: true }),
  statuses: param.list(z.array(z.string()).optional()),
  background: param.one(bool.optional()),
  stop_reason: param.one(z.enum(STOP_REASONS).optional()),
  conversation_id: param.one(z.string().optional()),
  before: cursorParam,
  after: cursorParam,
  limit: limitParam(100),
  order: orderParam('desc'),
  order_by: orderByParam,
  active: param.one(bool.default(false)),
  ascending: param.one(bool.default(false), { deprecated: true }),
};

const str = (v: unknown) => v as string | undefined;

export function runRoutes(stream: StreamSettings): LettaRoute[] {
  return [
    {
      method: 'GET',
      url: '/v1/runs/',
      operationId: 'list_runs',
      summary: 'List runs, newest first by default; `after`/`before` are run ids in the requested order.',
      tag: 'runs',
      query: listRunsQuery,
      response: z.array(RunShape.schema),
      async handler({ runtime, actor, query: q }) {
        const statuses = runStatuses(q.statuses as string[] | undefined);
        const agentId = str(q.agent_id);
        if (agentId !== undefined) pathId('agent', agentId);
        const agentIds = agentId === undefined ? (q.agent_ids as string[] | undefined) : undefined;
        for (const id of agentIds ?? []) pathId('agent', id);
        const order = q.ascending ? 'asc' : (q.order as 'asc' | 'desc');
        const filters = {
          agentId,
          statuses,
          background: q.background as boolean | undefined,
          stopReason: q.stop_reason as (typeof STOP_REASONS)[number] | undefined,
          conversationId: str(q.conversation_id),
          active: q.active as boolean,
        };
        const runs = await idWindow({
          order,
          limit: q.limit as number,
          after: str(q.after),
          before: str(q.before),
          cursorFor: (id, o) => runtime.runs.cursorFor(actor, id, o),
          list: (o, limit, cursor, until) =>
            runtime.runs.list(actor, { ...filters, order: o, limit, cursor }, { agentIds, until }),
        });
        return runs.map(toLettaRun);
      },
    },
    {
      method: 'GET',
      url: '/v1/runs/active',
      operationId: 'list_active_runs',
      summary: 'List created or running runs (at most 100, newest first).',
      tag: 'runs',
      deprecated: true,
      query: { agent_id: param.one(z.string().optional()), background: param.one(bool.optional()) },
      response: z.array(RunShape.schema),
      async handler({ runtime, actor, query: q }) {
        const agentId = str(q.agent_id);
        if (agentId !== undefined) pathId('agent', agentId);
        const page = await runtime.runs.listActive(actor, {
          agentId,
          background: q.background as boolean | undefined,
          limit: 100,
        });
        return page.items.map(toLettaRun);
      },
    },
    {
      method: 'GET',
      url: '/v1/runs/:run_id',
      operationId: 'retrieve_run',
      summary: 'Get a run.',
      tag: 'runs',
      response: RunShape.schema,
      async handler({ runtime, actor, params }) {
        return toLettaRun(await runtime.runs.retrieve(actor, { runId: pathId('run', params.run_id as string) }));
      },
    },
    {
      method: 'DELETE',
      url: '/v1/runs/:run_id',
      operationId: 'delete_run',
      summary: 'Delete a run with its steps, messages, metrics and traces (cancelling it first if active).',
      tag: 'runs',
      response: z.null(),
      async handler({ runtime, actor, params }) {
        await runtime.runs.delete(actor, { runId: pathId('run', params.run_id as string) });
        return null;
      },
    },
    messageListRoute('run'),
    {
      method: 'GET',
      url: '/v1/runs/:run_id/usage',
      operationId: 'retrieve_usage_for_run',
      summary: 'Token usage summed over every step of the run, with the step count and cache/reasoning totals.',
      tag: 'runs',
      response: UsageShape.schema,
      async handler({ runtime, actor, params }) {
        return toLettaUsage(await runtime.runs.usage(actor, { runId: pathId('run', params.run_id as string) }));
      },
    },
    {
      method: 'GET',
      url: '/v1/runs/:run_id/metrics',
      operationId: 'retrieve_metrics_for_run',
      summary: "A run's metrics (start, duration, number of steps, tools used).",
      tag: 'runs',
      response: RunMetricsShape.schema,
      async handler({ runtime, actor, params }) {
        return toLettaRunMetrics(await runtime.runs.metrics(actor, { runId: pathId('run', params.run_id as string) }));
      },
    },
    {
      method: 'GET',
      url: '/v1/runs/:run_id/steps',
      operationId: 'list_steps_for_run',
      summary: "List a run's steps (newest first by default); `after`/`before` are step ids.",
      tag: 'runs',
      query: pageQuery('desc'),
      response: z.array(StepShape.schema),
      async handler({ runtime, actor, params, query: q }) {
        const runId = pathId('run', params.run_id as string);
        await runtime.runs.retrieve(actor, { runId });
        const steps = await idWindow({
          order: q.order as 'asc' | 'desc',
          limit: q.limit as number,
          after: str(q.after),
          before: str(q.before),
          cursorFor: (id, o) => runtime.steps.cursorFor(actor, id, o, runId),
          list: (o, limit, cursor, until) =>
            runtime.steps.listByRun(actor, { runId, order: o, limit, cursor }, { until }),
        });
        return steps.map((s) => toLettaStep(s, actor));
      },
    },
    {
      method: 'GET',
      url: '/v1/runs/:run_id/trace',
      operationId: 'retrieve_trace_for_run',
      summary: "The run's OpenTelemetry spans (agent steps, tool executions, root spans, time to first token).",
      tag: 'runs',
      query: { limit: limitParam(1000, MAX_RUN_TRACE_SPANS) },
      response: z.array(SpanShape.schema),
      async handler({ runtime, actor, params, query: q }) {
        // As Letta: the limit is validated first, then ClickHouse must be on, whatever the run.
        if (!runtime.traces.enabled) throw clickhouseOff('OpenTelemetry traces (GET /v1/runs/{run_id}/trace)');
        const runId = pathId('run', params.run_id as string);
        const spans = await runtime.traces.forRun(actor, { runId, limit: q.limit as number });
        return spans.map(toLettaSpan);
      },
    },
    streamRoute(stream),
  ];
}
