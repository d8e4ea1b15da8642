import { MESSAGE_TYPES, RUN_SORT_KEYS, RUN_STATUSES, STOP_REASONS } from '@runtrace/core/runs';
import fc from 'fast-check';
import { agentName } from './agent-targets.ts';
import { anyDate, idOf, junk, longString, safeObject, safeString } from './arbitraries.ts';
import { type Generated, inputsOf, mostlyValid, objectOf } from './generated.ts';
import { forgetRun, ok, ReadBackError, readRun, same } from './reads.ts';
import { field, type Target } from './target.ts';
import {
  agentId,
  backgroundRunId,
  bool,
  content,
  cursor,
  deletableRunId,
  limit,
  nanos,
  newRunId,
  page,
  runId,
  tokens,
  toolCall,
} from './target-arbitraries.ts';
import { trpc } from './trpc-target.ts';

const requestConfig = objectOf({
  optional: {
    useAssistantMessage: bool,
    assistantMessageToolName: safeString,
    assistantMessageToolKwarg: safeString,
    includeReturnMessageTypes: fc.array(fc.constantFrom(...MESSAGE_TYPES), { maxLength: 3 }),
  },
});

const eventCommon = { id: safeString, date: anyDate, otid: safeString, stepId: safeString, name: safeString };
const event = fc.oneof(
  mostlyValid({ required: { messageType: fc.constant('assistant_message'), content }, optional: eventCommon }),
  mostlyValid({
    required: { messageType: fc.constant('reasoning_message'), reasoning: safeString },
    optional: eventCommon,
  }),
  mostlyValid({ required: { messageType: fc.constant('tool_call_message'), toolCall }, optional: eventCommon }),
  mostlyValid({ required: { messageType: fc.constant('stop_reason'), stopReason: fc.constantFrom(...STOP_REASONS) } }),
  mostlyValid({
    required: { messageType: fc.constant('usage_statistics') },
    optional: {
      promptTokens: tokens,
      completionTokens: tokens,
      totalTokens: tokens,
      stepCount: fc.nat(10),
      cachedInputTokens: tokens,
    },
  }),
  mostlyValid({
    required: { messageType: fc.constant('error_message'), errorType: safeString, message: safeString },
    optional: eventCommon,
  }),
);

/** runs.list's search: a run id of the pools, its 8-character prefix, too short, not a run id, or LIKE wildcards. */
const runSearch = fc.oneof(
  runId,
  fc.constantFrom(
    'run-0000',
    'run-',
    'run-abc',
    'RUN-ABCD',
    'run-%%%%',
    'run-____',
    'step-0000',
    `run-${'0'.repeat(40)}`,
  ),
);

/** The filters runs.list and runs.count share. */
const runFilters = {
  agentId,
  statuses: fc.array(fc.constantFrom(...RUN_STATUSES), { maxLength: 3 }),
  background: bool,
  stopReason: fc.constantFrom(...STOP_REASONS),
  conversationId: safeString,
  active: bool,
  createdFrom: anyDate,
  createdTo: anyDate,
  models: fc.array(fc.oneof(safeString, fc.constantFrom('gpt-4o', '')), { maxLength: 3 }),
  agentNames: fc.array(agentName, { maxLength: 3 }),
  search: runSearch,
};

/** The generators of the `runs.*` procedures. */
export function runTargets(): [string, Target][] {
  return [
    trpc('query', 'runs.list', {
      optional: { ...runFilters, sortBy: fc.constantFrom(...RUN_SORT_KEYS, 'price'), ...page },
    }),
    trpc('query', 'runs.count', { optional: runFilters }),
    trpc('query', 'runs.listActive', { optional: { agentId, background: bool, limit, cursor } }),
    trpc('query', 'runs.retrieve', { required: { runId } }, { lookups: ['runId'] }),
    trpc('query', 'runs.messages', { required: { runId }, optional: page }, { lookups: ['runId'] }),
    trpc('query', 'runs.usage', { required: { runId } }, { lookups: ['runId'] }),
    trpc('query', 'runs.metrics', { required: { runId } }, { lookups: ['runId'] }),
    trpc('query', 'runs.steps', { required: { runId }, optional: page }, { lookups: ['runId'] }),
    trpc(
      'query',
      'runs.trace',
      { required: { runId }, optional: { limit: fc.integer({ min: 1, max: 5000 }), llmSpans: bool } },
      { lookups: ['runId'] },
    ),
    trpc(
      'mutation',
      'runs.create',
      {
        required: { agentId: idOf('agent', { own: 6, unknown: 6 }) },
        optional: {
          id: newRunId,
          background: bool,
          conversationId: fc.oneof({ weight: 6, arbitrary: safeString }, { weight: 1, arbitrary: longString }),
          baseTemplateId: safeString,
          metadata: fc.oneof({ weight: 4, arbitrary: safeObject }, { weight: 1, arbitrary: junk }),
          requestConfig,
          callbackUrl: fc.oneof(
            { weight: 4, arbitrary: fc.constant('http://127.0.0.1:9/callback') },
            { weight: 1, arbitrary: fc.constantFrom('ftp://x', 'not a url') },
          ),
          projectId: safeString,
          templateId: safeString,
          agentName,
        },
      },
      {
        valid: 9,
        async after(s, input, answer) {
          const created = answer.data as Record<string, unknown>;
          const id = created.id as string;
          if (!s.pools.own.run?.includes(id)) {
            s.pools.own.run?.push(id);
            s.pools.own.deletableRun?.push(id);
            if (created.background) s.pools.own.backgroundRun?.push(id);
          }
          s.runAgent.set(id, created.agentId as string);
          if (!s.pools.own.agent?.includes(created.agentId as string))
            s.pools.own.agent?.push(created.agentId as string);
          const read = await readRun(s, id);
          same(read.run.metadata, created.metadata, 'runs.retrieve metadata');
          same(read.run.conversationId, created.conversationId, 'runs.retrieve conversationId');
          const metadata = field(input, 'metadata');
          if (metadata !== undefined) same(read.rest.run.metadata, metadata, 'GET /v1/runs/R metadata');
        },
      },
    ),
    trpc(
      'mutation',
      'runs.update',
      {
        required: { runId },
        optional: {
          status: fc.constantFrom(...RUN_STATUSES),
          stopReason: fc.constantFrom(...STOP_REASONS),
          metadata: safeObject,
          ttftNs: nanos,
          totalDurationNs: nanos,
          completedAt: anyDate,
        },
      },
      {
        lookups: ['runId'],
        async after(s, _input, answer) {
          const updated = answer.data as Record<string, unknown>;
          const read = await readRun(s, updated.id as string);
          same(read.run.completedAt, updated.completedAt, 'runs.retrieve completedAt');
          same(read.run.status, updated.status, 'runs.retrieve status');
          same(read.run.ttftNs, updated.ttftNs, 'runs.retrieve ttftNs');
        },
      },
    ),
    trpc(
      'mutation',
      'runs.cancel',
      { required: { runId } },
      {
        lookups: ['runId'],
        async after(s, input) {
          await readRun(s, field(input, 'runId') as string);
        },
      },
    ),
    trpc(
      'mutation',
      'runs.delete',
      { required: { runId: deletableRunId } },
      {
        lookups: ['runId'],
        async after(s, input) {
          const id = field(input, 'runId') as string;
          forgetRun(s, id);
          const gone = await s.client.trpc('query', 'runs.retrieve', { runId: id });
          if (gone.code !== 'NOT_FOUND')
            throw new ReadBackError(`runs.retrieve of a deleted run answered ${gone.status}`);
        },
      },
    ),
    trpc(
      'mutation',
      'runs.appendEvents',
      {
        required: { runId: backgroundRunId, events: fc.array(event, { minLength: 1, maxLength: 4 }) },
        optional: { end: bool },
      },
      {
        lookups: ['runId'],
        valid: 9,
        async after(s, input) {
          const id = field(input, 'runId') as string;
          await readRun(s, id);
          const stream = await s.client.rest('POST', `/v1/runs/${id}/stream`, { body: {} });
          ok(stream, 'POST /v1/runs/R/stream');
        },
      },
    ),
    trpc(
      'subscription',
      'runs.stream',
      {
        required: { runId: backgroundRunId },
        optional: {
          lastEventId: fc.oneof(safeString, fc.constantFrom('0:0', '1:1')),
          startingAfter: fc.nat(),
          batchSize: limit,
          includePings: bool,
        },
      },
      { lookups: ['runId'] },
    ),
    trpc(
      'subscription',
      'runs.traceUpdates',
      {
        required: { runId },
        optional: { limit: fc.integer({ min: 1, max: 5000 }), llmSpans: bool, lastEventId: safeString },
      },
      { lookups: ['runId'] },
    ),
    trpc(
      'subscription',
      'runs.changes',
      fc.oneof(
        inputsOf({ optional: { agentId, lastEventId: safeString } }),
        fc.constant<Generated>({ input: undefined, how: 'valid' }),
      ),
    ),
  ];
}
