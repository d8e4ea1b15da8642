import { FEEDBACK_VALUES, RUN_STATUSES, STOP_REASONS } from '@runtrace/core/runs';
import fc from 'fast-check';
import { anyDate, anyString, idOf, safeString } from './arbitraries.ts';
import { otlpTarget } from './otlp-target.ts';
import { contains, forgetRun, ok, ReadBackError, readStep, same } from './reads.ts';
import { type RestInput, rest } from './rest-target.ts';
import type { Target } from './target.ts';
import {
  agentId,
  backgroundRunId,
  bool,
  deletableRunId,
  hex,
  limit,
  order,
  runId,
  stepId,
} from './target-arbitraries.ts';

const restPage = {
  before: idOf('run'),
  after: idOf('run'),
  limit,
  order,
  order_by: fc.constantFrom('created_at', 'id'),
};
const pageOf = (kind: 'step' | 'message') => ({ ...restPage, before: idOf(kind), after: idOf(kind) });
const boolText = fc.constantFrom('true', 'false', '1', '0', 'yes', 'maybe', '');
const runParams = { required: { run_id: runId } };
const stepParams = { required: { step_id: stepId } };

/** Every `/v1` route's generator (Letta's REST layer, and OTLP's `POST /v1/traces`). */
export function restTargets(): Map<string, Target> {
  return new Map<string, Target>([
    rest('GET', '/v1/runs/', {
      query: {
        optional: {
          agent_id: agentId,
          agent_ids: fc.array(agentId, { maxLength: 2 }),
          statuses: fc.array(fc.oneof(fc.constantFrom(...RUN_STATUSES), anyString), { maxLength: 2 }),
          background: boolText,
          stop_reason: fc.constantFrom(...STOP_REASONS),
          conversation_id: safeString,
          active: boolText,
          ascending: boolText,
          ...restPage,
        },
      },
    }),
    rest('GET', '/v1/runs/active', { query: { optional: { agent_id: agentId, background: boolText } } }),
    rest('GET', '/v1/runs/:run_id', { params: runParams }),
    rest(
      'DELETE',
      '/v1/runs/:run_id',
      { params: { required: { run_id: deletableRunId } } },
      {
        async after(s, input) {
          const id = (input as RestInput).params.run_id as string;
          forgetRun(s, id);
          const gone = await s.client.rest('GET', `/v1/runs/${id}`);
          if (gone.status !== 404) throw new ReadBackError(`GET /v1/runs/R of a deleted run answered ${gone.status}`);
        },
      },
    ),
    rest('GET', '/v1/runs/:run_id/messages', { params: runParams, query: { optional: pageOf('message') } }),
    rest('GET', '/v1/runs/:run_id/usage', { params: runParams }),
    rest('GET', '/v1/runs/:run_id/metrics', { params: runParams }),
    rest('GET', '/v1/runs/:run_id/steps', { params: runParams, query: { optional: pageOf('step') } }),
    rest('GET', '/v1/runs/:run_id/trace', { params: runParams, query: { optional: { limit } } }),
    rest('POST', '/v1/runs/:run_id/stream', {
      params: { required: { run_id: backgroundRunId } },
      body: {
        optional: {
          starting_after: fc.nat(),
          include_pings: bool,
          poll_interval: fc.double(),
          batch_size: limit,
          conversation_id: safeString,
        },
      },
    }),
    rest('GET', '/v1/steps/', {
      query: {
        optional: {
          ...pageOf('step'),
          start_date: fc.oneof(anyDate, fc.constantFrom('2024-01-01', 'yesterday', '2024-13-01')),
          end_date: anyDate,
          model: safeString,
          agent_id: agentId,
          trace_ids: fc.array(fc.oneof(hex(16), safeString), { maxLength: 2 }),
          feedback: fc.constantFrom(...FEEDBACK_VALUES),
          has_feedback: boolText,
          tags: fc.array(safeString, { maxLength: 2 }),
          project_id: safeString,
        },
      },
    }),
    rest('GET', '/v1/steps/:step_id', { params: stepParams }),
    rest('GET', '/v1/steps/:step_id/metrics', { params: stepParams }),
    rest('GET', '/v1/steps/:step_id/trace', { params: stepParams }),
    rest('GET', '/v1/steps/:step_id/messages', { params: stepParams, query: { optional: pageOf('message') } }),
    rest(
      'PATCH',
      '/v1/steps/:step_id/feedback',
      {
        params: stepParams,
        body: {
          optional: {
            feedback: fc.constantFrom(...FEEDBACK_VALUES, null),
            tags: fc.array(safeString, { maxLength: 3 }),
          },
        },
      },
      {
        valid: 60,
        async after(s, input, answer) {
          const body = ((input as RestInput).body ?? {}) as { feedback?: string | null; tags?: string[] };
          const id = (input as RestInput).params.step_id as string;
          const read = await readStep(s, id);
          same(read.step.feedback, body.feedback ?? null, 'steps.retrieve feedback');
          if (body.tags?.length) same(read.step.tags, body.tags, 'steps.retrieve tags');
          same(read.rest.step.feedback, (answer.json as Record<string, unknown>).feedback, 'GET /v1/steps/S feedback');
          if (body.feedback) {
            const list = await s.client.rest('GET', '/v1/steps/', { query: { feedback: body.feedback, limit: 1000 } });
            contains(ok(list, 'GET /v1/steps/?feedback'), id, 'GET /v1/steps/?feedback=…');
          }
        },
      },
    ),
    // The collections without their slash redirect (307), keeping the query.
    rest('GET', '/v1/runs', { query: { optional: { limit: fc.constantFrom('5', 'x'), order: anyString } } }),
    rest('GET', '/v1/steps', { query: { optional: { limit: fc.constantFrom('5', 'x'), order: anyString } } }),
    rest('GET', '/v1/openapi.json', { query: { optional: { x: anyString } } }),
    ['POST /v1/traces', otlpTarget()],
  ]);
}
