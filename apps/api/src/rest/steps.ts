/** Letta's `/v1/steps` endpoints over the same managers as the tRPC `steps` procedures. */
import { isId, TIMESTAMP_MAX, TIMESTAMP_MIN, timestampInputSchema } from '@runtrace/core';
import { FEEDBACK_VALUES } from '@runtrace/core/runs';
import { z } from 'zod';
import { messageListRoute } from './messages.ts';
import {
  ProviderTraceShape,
  StepMetricsShape,
  StepShape,
  toLettaProviderTrace,
  toLettaStep,
  toLettaStepMetrics,
} from './shapes.ts';
import {
  cursorParam,
  idWindow,
  type LettaRoute,
  limitParam,
  orderByParam,
  orderParam,
  param,
  pathId,
  RequestValidationError,
  ValueError,
} from './shared.ts';

const ISO_DATE = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Python's `datetime.fromisoformat`, as Letta parses `start_date`/`end_date`: a date, or a date-time with or
 * without an offset (without one, UTC). Anything else is Letta's ValueError (400), as is an instant outside what
 * core's timestamp inputs take (years 0001–9999 in UTC), naming the parameter.
 */
export function parseIsoDate(value: string, name: string): string {
  const m = ISO_DATE.exec(value.trim());
  const date = m ? new Date(`${m[1]}T${m[2] ?? '00:00'}${m[3] ?? 'Z'}`) : null;
  if (!date || Number.isNaN(date.getTime())) throw new ValueError(`Invalid isoformat string: '${value}'`);
  const iso = date.toISOString();
  if (!timestampInputSchema.safeParse(iso).success || m?.[1]?.startsWith('0000')) {
    throw new ValueError(`Invalid ${name} '${value}': must be between ${TIMESTAMP_MIN} and ${TIMESTAMP_MAX} in UTC`);
  }
  return iso;
}

const listStepsQuery = {
  before: cursorParam,
  after: cursorParam,
  limit: limitParam(50),
  order: orderParam('desc'),
  order_by: orderByParam,
  start_date: param.one(z.string().optional()),
  end_date: param.one(z.string().optional()),
  model: param.one(z.string().optional()),
  agent_id: param.one(z.string().optional()),
  trace_ids: param.list(z.array(z.string()).optional()),
  feedback: param.one(z.enum(FEEDBACK_VALUES).optional()),
  has_feedback: param.one(z.boolean().optional()),
  tags: param.list(z.array(z.string()).optional()),
  project_id: param.one(z.string().optional()),
};

/** Letta's ModifyFeedbackRequest. */
export const modifyFeedbackRequest = z.object({
  feedback: z.enum(FEEDBACK_VALUES).nullish(),
  tags: z.array(z.string()).nullish(),
});

const str = (v: unknown) => v as string | undefined;

export function stepRoutes(): LettaRoute[] {
  return [
    {
      method: 'GET',
      url: '/v1/steps/',
      operationId: 'list_steps',
      summary: "List the organization's steps (newest first by default) with filters; `after`/`before` are step ids.",
      tag: 'steps',
      query: listStepsQuery,
      response: z.array(StepShape.schema),
      async handler({ runtime, actor, query: q }) {
        const agentId = str(q.agent_id);
        if (agentId !== undefined) pathId('agent', agentId);
        const filters = {
          agentId,
          model: str(q.model),
          traceIds: q.trace_ids as string[] | undefined,
          feedback: q.feedback as (typeof FEEDBACK_VALUES)[number] | undefined,
          hasFeedback: q.has_feedback as boolean | undefined,
          tags: q.tags as string[] | undefined,
          projectId: str(q.project_id),
          startDate: q.start_date ? parseIsoDate(q.start_date as string, 'start_date') : undefined,
          endDate: q.end_date ? parseIsoDate(q.end_date as string, 'end_date') : undefined,
        };
        const steps = await idWindow({
          order: q.order as 'asc' | 'desc',
          limit: q.limit as number,
          after: str(q.after),
          before: str(q.before),
          cursorFor: (id, o) => runtime.steps.cursorFor(actor, id, o),
          list: (o, limit, cursor, until) =>
            runtime.steps.list(actor, { ...filters, order: o, limit, cursor }, { until }),
        });
        return steps.map((s) => toLettaStep(s, actor));
      },
    },
    {
      method: 'GET',
      url: '/v1/steps/:step_id',
      operationId: 'retrieve_step',
      summary: 'Get a step.',
      tag: 'steps',
      response: StepShape.schema,
      async handler({ runtime, actor, params }) {
        return toLettaStep(
          await runtime.steps.retrieve(actor, { stepId: pathId('step', params.step_id as string) }),
          actor,
        );
      },
    },
    {
      method: 'GET',
      url: '/v1/steps/:step_id/metrics',
      operationId: 'retrieve_metrics_for_step',
      summary: "A step's timings (step, LLM request, tool execution) in nanoseconds.",
      tag: 'steps',
      response: StepMetricsShape.schema,
      async handler({ runtime, actor, params }) {
        const step = await runtime.steps.retrieve(actor, { stepId: pathId('step', params.step_id as string) });
        return toLettaStepMetrics(step, actor);
      },
    },
    {
      method: 'GET',
      url: '/v1/steps/:step_id/trace',
      operationId: 'retrieve_trace_for_step',
      summary: "The step's provider trace (the LLM call's request and response) from the primary backend, or null.",
      tag: 'steps',
      response: ProviderTraceShape.schema.nullable(),
      async handler({ runtime, actor, params }) {
        const stepId = params.step_id as string;
        // Letta validates this path id with a pattern: 422.
        if (!isId('step', stepId)) {
          throw new RequestValidationError([
            {
              type: 'string_pattern_mismatch',
              loc: ['path', 'step_id'],
              msg: "String should match 'step-<uuid4>'",
              input: stepId,
            },
          ]);
        }
        return toLettaProviderTrace(await runtime.providerTraces.forStep(actor, { stepId }));
      },
    },
    {
      method: 'PATCH',
      url: '/v1/steps/:step_id/feedback',
      operationId: 'modify_feedback_for_step',
      summary: "Set (or with null clear) a step's feedback; non-empty `tags` replace its tags.",
      tag: 'steps',
      body: modifyFeedbackRequest,
      response: StepShape.schema,
      async handler({ runtime, actor, params, request }) {
        const stepId = pathId('step', params.step_id as string);
        const body = modifyFeedbackRequest.parse(request.body ?? {});
        return toLettaStep(
          await runtime.steps.setFeedback(actor, { stepId, feedback: body.feedback, tags: body.tags }),
          actor,
        );
      },
    },
    messageListRoute('step'),
  ];
}
