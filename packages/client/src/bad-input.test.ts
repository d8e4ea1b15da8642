import { randomBytes, randomUUID } from 'node:crypto';
import { databaseTargets, newId } from '@runtrace/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntraceClient } from './create-runtrace-client.ts';
import { callError, startApi, type TestApi } from './testing/start-api.ts';

/** The runs, steps and cursors the bad calls aim at. */
interface Fixture {
  createdRunId: string;
  runningRunId: string;
  completedRunId: string;
  cancelledRunId: string;
  otherRunId: string;
  stepId: string;
  runsDescCursor: string;
  runsAscCursor: string;
  stepsCursor: string;
  messagesCursor: string;
}

type Call = (c: RuntraceClient, f: Fixture) => Promise<unknown>;
type Row = [name: string, call: Call, code: 'BAD_REQUEST' | 'NOT_FOUND' | 'CONFLICT', field: string | null];

/** Anything the type system would refuse, sent anyway (as a JavaScript caller or a bad proxy could). */
// biome-ignore lint/suspicious/noExplicitAny: deliberately ill-typed inputs
const loose = (value: unknown): any => value;
const cursorOf = (payload: unknown) => Buffer.from(JSON.stringify(payload)).toString('base64url');

const malformedRunIds = [
  'nonexistent-id',
  'run-123',
  `run-${randomUUID().toUpperCase()}`,
  `job-${randomUUID()}`,
  `run-${randomUUID()} `,
  `run_${randomUUID()}`,
  '',
];

const runIdProcedures: [string, (c: RuntraceClient, runId: string) => Promise<unknown>][] = [
  ['runs.retrieve', (c, runId) => c.runs.retrieve.query({ runId })],
  ['runs.update', (c, runId) => c.runs.update.mutate({ runId, status: 'running' })],
  ['runs.cancel', (c, runId) => c.runs.cancel.mutate({ runId })],
  ['runs.delete', (c, runId) => c.runs.delete.mutate({ runId })],
  ['runs.messages', (c, runId) => c.runs.messages.query({ runId })],
  ['runs.usage', (c, runId) => c.runs.usage.query({ runId })],
  ['runs.metrics', (c, runId) => c.runs.metrics.query({ runId })],
  ['runs.steps', (c, runId) => c.runs.steps.query({ runId })],
  ['steps.create', (c, runId) => c.steps.create.mutate({ runId, promptTokens: 1 })],
  [
    'messages.create',
    (c, runId) => c.messages.create.mutate({ runId, messages: [{ messageType: 'assistant_message', content: 'x' }] }),
  ],
];

const table: Row[] = [
  // Malformed and unknown ids.
  ...malformedRunIds.map(
    (id): Row => [
      `runs.retrieve runId ${JSON.stringify(id)}`,
      (c) => c.runs.retrieve.query({ runId: id }),
      'BAD_REQUEST',
      'runId',
    ],
  ),
  ...runIdProcedures.map(
    ([name, call]): Row => [`${name} runId "run-123"`, (c) => call(c, 'run-123'), 'BAD_REQUEST', 'runId'],
  ),
  ...runIdProcedures.map(
    ([name, call]): Row => [`${name} unknown runId`, (c) => call(c, newId('run')), 'NOT_FOUND', 'runId'],
  ),
  ['runs.retrieve runId as a number', (c) => c.runs.retrieve.query(loose({ runId: 123 })), 'BAD_REQUEST', 'runId'],
  ['runs.retrieve runId missing', (c) => c.runs.retrieve.query(loose({})), 'BAD_REQUEST', 'runId'],
  ['runs.retrieve a step id as runId', (c, f) => c.runs.retrieve.query({ runId: f.stepId }), 'BAD_REQUEST', 'runId'],
  ['steps.retrieve stepId "step-123"', (c) => c.steps.retrieve.query({ stepId: 'step-123' }), 'BAD_REQUEST', 'stepId'],
  [
    'steps.retrieve a run id as stepId',
    (c, f) => c.steps.retrieve.query({ stepId: f.createdRunId }),
    'BAD_REQUEST',
    'stepId',
  ],
  ['steps.retrieve unknown stepId', (c) => c.steps.retrieve.query({ stepId: newId('step') }), 'NOT_FOUND', 'stepId'],
  [
    'steps.create id "step-1"',
    (c, f) => c.steps.create.mutate({ id: 'step-1', runId: f.createdRunId }),
    'BAD_REQUEST',
    'id',
  ],
  ['runs.create agentId "agent-1"', (c) => c.runs.create.mutate({ agentId: 'agent-1' }), 'BAD_REQUEST', 'agentId'],
  ['runs.create agentId missing', (c) => c.runs.create.mutate(loose({})), 'BAD_REQUEST', 'agentId'],
  [
    'runs.create id "run-1"',
    (c) => c.runs.create.mutate({ id: 'run-1', agentId: newId('agent') }),
    'BAD_REQUEST',
    'id',
  ],
  ['runs.list agentId "agent-x"', (c) => c.runs.list.query({ agentId: 'agent-x' }), 'BAD_REQUEST', 'agentId'],
  [
    'runs.listActive agentId "agent-x"',
    (c) => c.runs.listActive.query({ agentId: 'agent-x' }),
    'BAD_REQUEST',
    'agentId',
  ],
  [
    'messages.create message id "msg-1"',
    (c, f) =>
      c.messages.create.mutate({
        runId: f.createdRunId,
        messages: [{ messageType: 'assistant_message', content: 'x', id: 'msg-1' }],
      }),
    'BAD_REQUEST',
    'messages.0.id',
  ],

  [
    'messages.create stepId "step-1"',
    (c, f) =>
      c.messages.create.mutate({
        runId: f.createdRunId,
        messages: [{ messageType: 'assistant_message', content: 'x', stepId: 'step-1' }],
      }),
    'BAD_REQUEST',
    'messages.0.stepId',
  ],
  [
    'messages.create unknown stepId',
    (c, f) =>
      c.messages.create.mutate({
        runId: f.createdRunId,
        messages: [{ messageType: 'assistant_message', content: 'x', stepId: newId('step') }],
      }),
    'NOT_FOUND',
    'messages.0.stepId',
  ],

  // Limits.
  ...[0, 1001, -1, 1.5].flatMap((limit): Row[] => [
    [`runs.list limit ${limit}`, (c) => c.runs.list.query({ limit }), 'BAD_REQUEST', 'limit'],
    [`runs.listActive limit ${limit}`, (c) => c.runs.listActive.query({ limit }), 'BAD_REQUEST', 'limit'],
    [
      `runs.steps limit ${limit}`,
      (c, f) => c.runs.steps.query({ runId: f.createdRunId, limit }),
      'BAD_REQUEST',
      'limit',
    ],
    [
      `runs.messages limit ${limit}`,
      (c, f) => c.runs.messages.query({ runId: f.createdRunId, limit }),
      'BAD_REQUEST',
      'limit',
    ],
    [`agents.list limit ${limit}`, (c) => c.agents.list.query({ limit }), 'BAD_REQUEST', 'limit'],
  ]),

  // Statuses and stop reasons are case-sensitive enums.
  [
    'runs.list statuses ["COMPLETED"]',
    (c) => c.runs.list.query(loose({ statuses: ['COMPLETED'] })),
    'BAD_REQUEST',
    'statuses.0',
  ],
  [
    'runs.list statuses ["Completed"]',
    (c) => c.runs.list.query(loose({ statuses: ['Completed'] })),
    'BAD_REQUEST',
    'statuses.0',
  ],
  [
    'runs.list statuses ["completed", "done"]',
    (c) => c.runs.list.query(loose({ statuses: ['completed', 'done'] })),
    'BAD_REQUEST',
    'statuses.1',
  ],
  [
    'runs.list statuses "completed" (not a list)',
    (c) => c.runs.list.query(loose({ statuses: 'completed' })),
    'BAD_REQUEST',
    'statuses',
  ],
  [
    'runs.list stopReason "END_TURN"',
    (c) => c.runs.list.query(loose({ stopReason: 'END_TURN' })),
    'BAD_REQUEST',
    'stopReason',
  ],
  ['runs.list order "DESC"', (c) => c.runs.list.query(loose({ order: 'DESC' })), 'BAD_REQUEST', 'order'],
  [
    'runs.update status "COMPLETED"',
    (c, f) => c.runs.update.mutate(loose({ runId: f.runningRunId, status: 'COMPLETED' })),
    'BAD_REQUEST',
    'status',
  ],
  [
    'runs.update stopReason "success"',
    (c, f) => c.runs.update.mutate(loose({ runId: f.runningRunId, stopReason: 'success' })),
    'BAD_REQUEST',
    'stopReason',
  ],

  // Unknown keys are refused, named as the field.
  [
    'runs.create organizationId',
    (c, f) => c.runs.create.mutate(loose({ agentId: newId('agent'), organizationId: f.createdRunId })),
    'BAD_REQUEST',
    'organizationId',
  ],
  [
    'runs.create status',
    (c) => c.runs.create.mutate(loose({ agentId: newId('agent'), status: 'completed' })),
    'BAD_REQUEST',
    'status',
  ],
  [
    'runs.create requestConfig.foo',
    (c) => c.runs.create.mutate(loose({ agentId: newId('agent'), requestConfig: { foo: 1 } })),
    'BAD_REQUEST',
    'requestConfig.foo',
  ],
  [
    'runs.list agentIds (REST-only parameter)',
    (c) => c.runs.list.query(loose({ agentIds: [newId('agent')] })),
    'BAD_REQUEST',
    'agentIds',
  ],
  [
    'runs.list ascending (REST-only parameter)',
    (c) => c.runs.list.query(loose({ ascending: true })),
    'BAD_REQUEST',
    'ascending',
  ],
  [
    'runs.update organizationId',
    (c, f) => c.runs.update.mutate(loose({ runId: f.runningRunId, organizationId: 'org-x' })),
    'BAD_REQUEST',
    'organizationId',
  ],
  [
    'runs.retrieve extra key',
    (c, f) => c.runs.retrieve.query(loose({ runId: f.createdRunId, agentId: 'x' })),
    'BAD_REQUEST',
    'agentId',
  ],
  [
    'steps.create agentId',
    (c, f) => c.steps.create.mutate(loose({ runId: f.createdRunId, agentId: newId('agent') })),
    'BAD_REQUEST',
    'agentId',
  ],
  [
    'messages.create message with an unknown key',
    (c, f) =>
      c.messages.create.mutate(
        loose({ runId: f.createdRunId, messages: [{ messageType: 'assistant_message', content: 'x', foo: 1 }] }),
      ),
    'BAD_REQUEST',
    'messages.0.foo',
  ],

  // Wrong types.
  ['runs.list limit "10"', (c) => c.runs.list.query(loose({ limit: '10' })), 'BAD_REQUEST', 'limit'],
  [
    'runs.create background "yes"',
    (c) => c.runs.create.mutate(loose({ agentId: newId('agent'), background: 'yes' })),
    'BAD_REQUEST',
    'background',
  ],
  ['runs.list background "yes"', (c) => c.runs.list.query(loose({ background: 'yes' })), 'BAD_REQUEST', 'background'],
  [
    'runs.create metadata "x"',
    (c) => c.runs.create.mutate(loose({ agentId: newId('agent'), metadata: 'x' })),
    'BAD_REQUEST',
    'metadata',
  ],
  [
    'runs.create metadata []',
    (c) => c.runs.create.mutate(loose({ agentId: newId('agent'), metadata: [] })),
    'BAD_REQUEST',
    'metadata',
  ],
  [
    'runs.create callbackUrl "ftp://example.com"',
    (c) => c.runs.create.mutate({ agentId: newId('agent'), callbackUrl: 'ftp://example.com/x' }),
    'BAD_REQUEST',
    'callbackUrl',
  ],
  [
    'runs.create callbackUrl "not a url"',
    (c) => c.runs.create.mutate({ agentId: newId('agent'), callbackUrl: 'not a url' }),
    'BAD_REQUEST',
    'callbackUrl',
  ],
  [
    'runs.update ttftNs -1',
    (c, f) => c.runs.update.mutate({ runId: f.runningRunId, ttftNs: -1 }),
    'BAD_REQUEST',
    'ttftNs',
  ],
  [
    'runs.update ttftNs "1.5"',
    (c, f) => c.runs.update.mutate({ runId: f.runningRunId, ttftNs: '1.5' }),
    'BAD_REQUEST',
    'ttftNs',
  ],
  [
    'runs.update ttftNs "abc"',
    (c, f) => c.runs.update.mutate({ runId: f.runningRunId, ttftNs: 'abc' }),
    'BAD_REQUEST',
    'ttftNs',
  ],
  [
    'runs.update ttftNs beyond int8',
    (c, f) => c.runs.update.mutate({ runId: f.runningRunId, ttftNs: '9999999999999999999' }),
    'BAD_REQUEST',
    'ttftNs',
  ],
  [
    'runs.update ttftNs 1e300',
    (c, f) => c.runs.update.mutate({ runId: f.runningRunId, ttftNs: 1e300 }),
    'BAD_REQUEST',
    'ttftNs',
  ],
  [
    'runs.update totalDurationNs beyond int8',
    (c, f) => c.runs.update.mutate({ runId: f.runningRunId, totalDurationNs: '9223372036854775808' }),
    'BAD_REQUEST',
    'totalDurationNs',
  ],
  [
    'steps.create stepNs beyond the step-duration bound (10^15 ns)',
    (c, f) => c.steps.create.mutate({ runId: f.runningRunId, stepNs: '1000000000000001' }),
    'BAD_REQUEST',
    'stepNs',
  ],
  [
    'runs.update completedAt "yesterday"',
    (c, f) => c.runs.update.mutate({ runId: f.runningRunId, completedAt: 'yesterday' }),
    'BAD_REQUEST',
    'completedAt',
  ],
  [
    'runs.update completedAt in year 0',
    (c, f) => c.runs.update.mutate({ runId: f.runningRunId, status: 'completed', completedAt: '0000-01-01T00:00:00Z' }),
    'BAD_REQUEST',
    'completedAt',
  ],
  [
    'steps.create promptTokens -1',
    (c, f) => c.steps.create.mutate({ runId: f.createdRunId, promptTokens: -1 }),
    'BAD_REQUEST',
    'promptTokens',
  ],
  [
    'steps.create promptTokens 1.5',
    (c, f) => c.steps.create.mutate({ runId: f.createdRunId, promptTokens: 1.5 }),
    'BAD_REQUEST',
    'promptTokens',
  ],
  [
    'steps.create promptTokens "10"',
    (c, f) => c.steps.create.mutate(loose({ runId: f.createdRunId, promptTokens: '10' })),
    'BAD_REQUEST',
    'promptTokens',
  ],
  [
    'steps.create promptTokens beyond int4',
    (c, f) => c.steps.create.mutate({ runId: f.createdRunId, promptTokens: 2 ** 31 }),
    'BAD_REQUEST',
    'promptTokens',
  ],
  [
    'steps.create contextWindowLimit beyond int4',
    (c, f) => c.steps.create.mutate({ runId: f.createdRunId, contextWindowLimit: 2 ** 40 }),
    'BAD_REQUEST',
    'contextWindowLimit',
  ],
  [
    'steps.create tokens whose total exceeds int4',
    (c, f) =>
      c.steps.create.mutate({ runId: f.createdRunId, promptTokens: 2 ** 31 - 1, completionTokens: 2 ** 31 - 1 }),
    'BAD_REQUEST',
    'totalTokens',
  ],
  [
    'steps.create stepNs beyond int8',
    (c, f) => c.steps.create.mutate({ runId: f.createdRunId, stepNs: '99999999999999999999' }),
    'BAD_REQUEST',
    'stepNs',
  ],
  [
    'steps.create status "done"',
    (c, f) => c.steps.create.mutate(loose({ runId: f.createdRunId, status: 'done' })),
    'BAD_REQUEST',
    'status',
  ],
  [
    'steps.create tags "a"',
    (c, f) => c.steps.create.mutate(loose({ runId: f.createdRunId, tags: 'a' })),
    'BAD_REQUEST',
    'tags',
  ],

  // Text the database cannot store: a NUL character is refused up front, naming where it was.
  [
    'runs.create conversationId with NUL',
    (c) => c.runs.create.mutate({ agentId: newId('agent'), conversationId: 'a\u0000b' }),
    'BAD_REQUEST',
    'conversationId',
  ],
  [
    'runs.create metadata value with NUL',
    (c) => c.runs.create.mutate({ agentId: newId('agent'), metadata: { k: 'a\u0000b' } }),
    'BAD_REQUEST',
    'metadata.k',
  ],
  [
    'runs.create metadata key with NUL',
    (c) => c.runs.create.mutate({ agentId: newId('agent'), metadata: { 'a\u0000': 1 } }),
    'BAD_REQUEST',
    'metadata.a\u0000',
  ],
  [
    'runs.create top-level key with NUL',
    (c) => c.runs.create.mutate(loose({ agentId: newId('agent'), 'x\u0000': 1 })),
    'BAD_REQUEST',
    'x\u0000',
  ],
  [
    'runs.create metadata key with an unpaired surrogate, in a list',
    (c) => c.runs.create.mutate({ agentId: newId('agent'), metadata: { list: [{ '\ud800': 1 }] } }),
    'BAD_REQUEST',
    'metadata.list.0.\ud800',
  ],
  [
    'runs.list conversationId with NUL',
    (c) => c.runs.list.query({ conversationId: '\u0000' }),
    'BAD_REQUEST',
    'conversationId',
  ],
  [
    'messages.create content with NUL',
    (c, f) =>
      c.messages.create.mutate({
        runId: f.createdRunId,
        messages: [{ messageType: 'assistant_message', content: [{ type: 'text', text: 'x\u0000' }] }],
      }),
    'BAD_REQUEST',
    'messages.0.content.0.text',
  ],
  [
    'runs.create metadata value with an unpaired surrogate',
    (c) => c.runs.create.mutate({ agentId: newId('agent'), metadata: { k: ['ok', 'a\ud800'] } }),
    'BAD_REQUEST',
    'metadata.k.1',
  ],
  [
    'runs.update metadata value with an unpaired low surrogate',
    (c, f) => c.runs.update.mutate({ runId: f.runningRunId, metadata: { k: '\udc00x' } }),
    'BAD_REQUEST',
    'metadata.k',
  ],
  [
    'runs.create conversationId of 10 000 random characters (an indexed column)',
    (c) => c.runs.create.mutate({ agentId: newId('agent'), conversationId: randomBytes(7500).toString('base64') }),
    'BAD_REQUEST',
    'conversationId',
  ],
  [
    'steps.create traceId of 10 000 random characters (an indexed column)',
    (c, f) => c.steps.create.mutate({ runId: f.createdRunId, traceId: randomBytes(7500).toString('base64') }),
    'BAD_REQUEST',
    'traceId',
  ],
  [
    'steps.create model with NUL',
    (c, f) => c.steps.create.mutate({ runId: f.createdRunId, model: 'gpt\u0000' }),
    'BAD_REQUEST',
    'model',
  ],

  // Cursors: opaque, exact, and refused when they are not this list's.
  ['runs.list cursor "garbage"', (c) => c.runs.list.query({ cursor: 'garbage' }), 'BAD_REQUEST', 'cursor'],
  ['runs.list cursor "!!!"', (c) => c.runs.list.query({ cursor: '!!!' }), 'BAD_REQUEST', 'cursor'],
  ['runs.list cursor ""', (c) => c.runs.list.query({ cursor: '' }), 'BAD_REQUEST', 'cursor'],
  [
    'runs.list cursor of 600 characters',
    (c) => c.runs.list.query({ cursor: 'a'.repeat(600) }),
    'BAD_REQUEST',
    'cursor',
  ],
  ['runs.list cursor 123 (a number)', (c) => c.runs.list.query(loose({ cursor: 123 })), 'BAD_REQUEST', 'cursor'],
  [
    'runs.list cursor that decodes to null',
    (c) => c.runs.list.query({ cursor: cursorOf(null) }),
    'BAD_REQUEST',
    'cursor',
  ],
  [
    'runs.list cursor that decodes to a list',
    (c) => c.runs.list.query({ cursor: cursorOf([1, 2]) }),
    'BAD_REQUEST',
    'cursor',
  ],
  [
    'a runs.list cursor used in runs.steps',
    (c, f) => c.runs.steps.query({ runId: f.createdRunId, cursor: f.runsDescCursor }),
    'BAD_REQUEST',
    'cursor',
  ],
  [
    'a runs.list cursor used in agents.list',
    (c, f) => c.agents.list.query({ cursor: f.runsDescCursor }),
    'BAD_REQUEST',
    'cursor',
  ],
  [
    'a runs.steps cursor used in runs.list',
    (c, f) => c.runs.list.query({ cursor: f.stepsCursor }),
    'BAD_REQUEST',
    'cursor',
  ],
  [
    'a runs.steps cursor used for another run',
    (c, f) => c.runs.steps.query({ runId: f.otherRunId, cursor: f.stepsCursor }),
    'BAD_REQUEST',
    'cursor',
  ],
  [
    'a runs.messages cursor used for another run',
    (c, f) => c.runs.messages.query({ runId: f.otherRunId, cursor: f.messagesCursor }),
    'BAD_REQUEST',
    'cursor',
  ],
  [
    'a runs.messages cursor used in runs.list',
    (c, f) => c.runs.list.query({ cursor: f.messagesCursor }),
    'BAD_REQUEST',
    'cursor',
  ],
  [
    'a desc cursor used with asc',
    (c, f) => c.runs.list.query({ order: 'asc', cursor: f.runsDescCursor }),
    'BAD_REQUEST',
    'cursor',
  ],
  [
    'an asc cursor used with desc',
    (c, f) => c.runs.list.query({ order: 'desc', cursor: f.runsAscCursor }),
    'BAD_REQUEST',
    'cursor',
  ],
  [
    'an asc cursor used in runs.listActive (always desc)',
    (c, f) => c.runs.listActive.query({ cursor: f.runsAscCursor }),
    'BAD_REQUEST',
    'cursor',
  ],
  [
    'a desc messages cursor used with asc',
    (c, f) => c.runs.messages.query({ runId: f.completedRunId, order: 'desc', cursor: f.messagesCursor }),
    'BAD_REQUEST',
    'cursor',
  ],
  [
    'a forged runs cursor whose key is not a timestamp',
    (c) => c.runs.list.query({ cursor: cursorOf({ s: 'runs', o: 'desc', k: 'not-a-date', id: newId('run') }) }),
    'BAD_REQUEST',
    'cursor',
  ],
  [
    'a forged runs cursor whose key is an impossible date',
    (c) =>
      c.runs.list.query({ cursor: cursorOf({ s: 'runs', o: 'desc', k: '2026-02-30T00:00:00Z', id: newId('run') }) }),
    'BAD_REQUEST',
    'cursor',
  ],
  [
    'a forged runs cursor whose key is a number',
    (c) => c.runs.list.query({ cursor: cursorOf({ s: 'runs', o: 'desc', k: 5, id: newId('run') }) }),
    'BAD_REQUEST',
    'cursor',
  ],
  [
    'a forged runs cursor whose id holds a NUL',
    (c) =>
      c.runs.list.query({ cursor: cursorOf({ s: 'runs', o: 'desc', k: '2026-01-01T00:00:00Z', id: 'run-\u0000' }) }),
    'BAD_REQUEST',
    'cursor',
  ],
  [
    'a forged messages cursor whose key is out of range',
    (c, f) =>
      c.runs.messages.query({
        runId: f.completedRunId,
        cursor: cursorOf({ s: `messages:${f.completedRunId}`, o: 'asc', k: 1e300, id: newId('message') }),
      }),
    'BAD_REQUEST',
    'cursor',
  ],
  [
    'a forged messages cursor whose key is fractional',
    (c, f) =>
      c.runs.messages.query({
        runId: f.completedRunId,
        cursor: cursorOf({ s: `messages:${f.completedRunId}`, o: 'asc', k: 1.5, id: newId('message') }),
      }),
    'BAD_REQUEST',
    'cursor',
  ],

  // The status machine and stop reasons.
  [
    'completed → running',
    (c, f) => c.runs.update.mutate({ runId: f.completedRunId, status: 'running' }),
    'CONFLICT',
    'status',
  ],
  [
    'completed → failed',
    (c, f) => c.runs.update.mutate({ runId: f.completedRunId, status: 'failed' }),
    'CONFLICT',
    'status',
  ],
  [
    'completed → stop reason error',
    (c, f) => c.runs.update.mutate({ runId: f.completedRunId, stopReason: 'error' }),
    'CONFLICT',
    'status',
  ],
  [
    'completed(end_turn) → cancelled',
    (c, f) => c.runs.update.mutate({ runId: f.completedRunId, status: 'cancelled' }),
    'CONFLICT',
    'status',
  ],
  [
    'cancelled → completed',
    (c, f) => c.runs.update.mutate({ runId: f.cancelledRunId, status: 'completed' }),
    'CONFLICT',
    'status',
  ],
  [
    'running → created',
    (c, f) => c.runs.update.mutate({ runId: f.runningRunId, status: 'created' }),
    'CONFLICT',
    'status',
  ],
  [
    'status completed with stop reason error',
    (c, f) => c.runs.update.mutate({ runId: f.runningRunId, status: 'completed', stopReason: 'error' }),
    'BAD_REQUEST',
    'stopReason',
  ],
  [
    'status failed with stop reason cancelled',
    (c, f) => c.runs.update.mutate({ runId: f.runningRunId, status: 'failed', stopReason: 'cancelled' }),
    'BAD_REQUEST',
    'stopReason',
  ],
  [
    'status cancelled with stop reason end_turn',
    (c, f) => c.runs.update.mutate({ runId: f.createdRunId, status: 'cancelled', stopReason: 'end_turn' }),
    'BAD_REQUEST',
    'stopReason',
  ],

  // Messages.
  [
    'messages.create messageType "unknown_message"',
    (c, f) =>
      c.messages.create.mutate(
        loose({ runId: f.createdRunId, messages: [{ messageType: 'unknown_message', content: 'x' }] }),
      ),
    'BAD_REQUEST',
    'messages.0.messageType',
  ],
  [
    'messages.create messageType "ASSISTANT_MESSAGE"',
    (c, f) =>
      c.messages.create.mutate(
        loose({ runId: f.createdRunId, messages: [{ messageType: 'ASSISTANT_MESSAGE', content: 'x' }] }),
      ),
    'BAD_REQUEST',
    'messages.0.messageType',
  ],
  [
    'messages.create messageType missing',
    (c, f) => c.messages.create.mutate(loose({ runId: f.createdRunId, messages: [{ content: 'x' }] })),
    'BAD_REQUEST',
    'messages.0.messageType',
  ],
  [
    'messages.create stop_reason (a stream event, not a message)',
    (c, f) =>
      c.messages.create.mutate(
        loose({ runId: f.createdRunId, messages: [{ messageType: 'stop_reason', stopReason: 'end_turn' }] }),
      ),
    'BAD_REQUEST',
    'messages.0.messageType',
  ],
  [
    'messages.create the second message is bad: nothing is written',
    (c, f) =>
      c.messages.create.mutate(
        loose({
          runId: f.createdRunId,
          messages: [
            { messageType: 'assistant_message', content: 'fine' },
            { messageType: 'assistant_message', content: 42 },
          ],
        }),
      ),
    'BAD_REQUEST',
    'messages.1.content',
  ],
  [
    'messages.create tool_return_message status "ok"',
    (c, f) =>
      c.messages.create.mutate(
        loose({
          runId: f.createdRunId,
          messages: [{ messageType: 'tool_return_message', toolReturn: 'x', toolCallId: 'c', status: 'ok' }],
        }),
      ),
    'BAD_REQUEST',
    'messages.0.status',
  ],
  [
    'messages.create no messages',
    (c, f) => c.messages.create.mutate({ runId: f.createdRunId, messages: [] }),
    'BAD_REQUEST',
    'messages',
  ],
  [
    'messages.create more than 1000 messages',
    (c, f) =>
      c.messages.create.mutate({
        runId: f.createdRunId,
        messages: Array.from({ length: 1001 }, () => ({ messageType: 'assistant_message' as const, content: 'x' })),
      }),
    'BAD_REQUEST',
    'messages',
  ],
  [
    'messages.create the same id twice in a batch',
    (c, f) => {
      const id = newId('message');
      return c.messages.create.mutate({
        runId: f.createdRunId,
        messages: [
          { id, messageType: 'assistant_message', content: 'a' },
          { id, messageType: 'assistant_message', content: 'b' },
        ],
      });
    },
    'BAD_REQUEST',
    'messages',
  ],
  [
    'messages.create date "yesterday"',
    (c, f) =>
      c.messages.create.mutate({
        runId: f.createdRunId,
        messages: [{ messageType: 'assistant_message', content: 'x', date: 'yesterday' }],
      }),
    'BAD_REQUEST',
    'messages.0.date',
  ],
  [
    'messages.create date in year 0',
    (c, f) =>
      c.messages.create.mutate({
        runId: f.createdRunId,
        messages: [{ messageType: 'assistant_message', content: 'x', date: '0000-01-01T00:00:00Z' }],
      }),
    'BAD_REQUEST',
    'messages.0.date',
  ],
];

/** A number that changes when any row of the ledger changes (hashtext exists on Postgres and PGlite alike). */
async function ledgerFingerprint(api: TestApi): Promise<string> {
  const parts = ['runs', 'run_metrics', 'steps', 'messages', 'agents'].map(
    (table) => `'${table}:' || (select count(*) || ':' || coalesce(sum(hashtext(t::text)), 0) from ${table} t)`,
  );
  return String(await api.scalar(`select ${parts.join(" || ' ' || ")}`));
}

async function makeFixture(c: RuntraceClient): Promise<Fixture> {
  const agentId = newId('agent');
  const created = await c.runs.create.mutate({ agentId });
  const running = await c.runs.create.mutate({ agentId });
  await c.runs.update.mutate({ runId: running.id, status: 'running' });
  const completed = await c.runs.create.mutate({ agentId });
  const step = await c.steps.create.mutate({ runId: completed.id });
  await c.steps.create.mutate({ runId: completed.id });
  await c.messages.create.mutate({
    runId: completed.id,
    messages: [
      { messageType: 'assistant_message', content: 'a' },
      { messageType: 'assistant_message', content: 'b' },
    ],
  });
  await c.runs.update.mutate({ runId: completed.id, stopReason: 'end_turn' });
  const cancelled = await c.runs.create.mutate({ agentId });
  await c.runs.cancel.mutate({ runId: cancelled.id });
  const other = await c.runs.create.mutate({ agentId });
  const desc = await c.runs.list.query({ limit: 1 });
  const asc = await c.runs.list.query({ limit: 1, order: 'asc' });
  const steps = await c.runs.steps.query({ runId: completed.id, limit: 1 });
  const messages = await c.runs.messages.query({ runId: completed.id, limit: 1 });
  return {
    createdRunId: created.id,
    runningRunId: running.id,
    completedRunId: completed.id,
    cancelledRunId: cancelled.id,
    otherRunId: other.id,
    stepId: step.id,
    runsDescCursor: desc.nextCursor!,
    runsAscCursor: asc.nextCursor!,
    stepsCursor: steps.nextCursor!,
    messagesCursor: messages.nextCursor!,
  };
}

describe.each(databaseTargets())('bad input over HTTP, in production mode ($name)', (target) => {
  let api: TestApi;
  let client: RuntraceClient;
  let fixture: Fixture;

  beforeAll(async () => {
    api = await startApi(target, { NODE_ENV: 'production' });
    client = api.client();
    fixture = await makeFixture(client);
  });
  afterAll(async () => {
    await api?.close();
  });

  it.each(table.map(([name, call, code, field]) => ({ name, call, code, field })))(
    '$name → $code naming $field',
    async ({ call, code, field }) => {
      const before = await ledgerFingerprint(api);
      const err = await callError(() => call(client, fixture));
      expect(err.httpStatus).not.toBe(500);
      expect(err.code).not.toBe('INTERNAL_SERVER_ERROR');
      expect({ code: err.code, field: err.field }).toEqual({ code, field });
      expect(err.message).not.toBe('Internal server error');
      if (field) expect(err.message.includes(field) || err.field === field).toBe(true);
      // Production answers carry no stack trace.
      expect(err.stack).toBeUndefined();
      // A refused call writes nothing.
      expect(await ledgerFingerprint(api)).toBe(before);
    },
  );

  it('refuses input nested deeper than the database can take, naming the field, without writing', async () => {
    const before = await ledgerFingerprint(api);
    // Too deep for JSON.stringify in the client, so the body is written by hand.
    const depth = 20_000;
    const body = `{"agentId":"${newId('agent')}","metadata":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    const res = await fetch(`${api.url}/trpc/runs.create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(400);
    const json = (await res.json()) as { error: { message: string; data: Record<string, unknown> } };
    expect(json.error.data).toMatchObject({ code: 'BAD_REQUEST' });
    expect(String(json.error.data.field)).toMatch(/^metadata(\.a)+$/);
    expect(json.error.message).toMatch(/nests deeper than \d+ levels/);
    expect(await ledgerFingerprint(api)).toBe(before);
  });

  it('accepts the edge values the checks above stop just beyond', async () => {
    const before = await ledgerFingerprint(api);
    const deep = (n: number): unknown => {
      let v: unknown = 'leaf';
      for (let i = 0; i < n; i++) v = { a: v };
      return v;
    };
    const run = await client.runs.create.mutate({
      agentId: newId('agent'),
      conversationId: 'c'.repeat(256),
      metadata: { deep: deep(900), emoji: '🧪 ok \ud83e\uddea', tab: '\t' },
    });
    expect(run.conversationId).toHaveLength(256);
    expect((run.metadata as { emoji: string }).emoji).toBe('🧪 ok 🧪');
    const updated = await client.runs.update.mutate({
      runId: run.id,
      status: 'completed',
      ttftNs: '9223372036854775807',
      completedAt: '0001-01-01T00:00:00Z',
    });
    expect(updated).toMatchObject({ ttftNs: '9223372036854775807', completedAt: '0001-01-01T00:00:00.000000Z' });
    const step = await client.steps.create.mutate({
      runId: run.id,
      promptTokens: 2 ** 31 - 1,
      completionTokens: 0,
      contextWindowLimit: 2 ** 31 - 1,
      traceId: 't'.repeat(256),
      stepNs: '1000000000000000',
    });
    expect(step).toMatchObject({ totalTokens: 2 ** 31 - 1, stepNs: '1000000000000000' });
    const [message] = await client.messages.create.mutate({
      runId: run.id,
      messages: [{ messageType: 'assistant_message', content: 'old', date: '2000-02-29T23:59:59.999999+00:00' }],
    });
    expect(message?.date).toBe('2000-02-29T23:59:59.999999Z');
    const page = await client.runs.messages.query({ runId: run.id, limit: 1 });
    expect(page.items).toHaveLength(1);
    // The fingerprint the table relies on does see writes.
    expect(await ledgerFingerprint(api)).not.toBe(before);
  });

  it('names the input field in the message of a schema error, and lists every issue', async () => {
    const err = await callError(() => client.runs.list.query(loose({ limit: 0, statuses: ['COMPLETED'] })));
    expect(err.code).toBe('BAD_REQUEST');
    expect(err.message).toMatch(/statuses\.0: /);
    expect(err.message).toMatch(/limit: /);
    const id = await callError(() => client.runs.retrieve.query({ runId: 'run-123' }));
    expect(id.message).toBe("runId: Invalid run ID format: run-123. Expected format: 'run-<uuid4>'");
  });

  it('answers a bad request with HTTP 400 and a JSON body without a stack trace', async () => {
    const input = encodeURIComponent(JSON.stringify({ runId: 'nonexistent-id' }));
    const res = await fetch(`${api.url}/trpc/runs.retrieve?input=${input}`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; data: Record<string, unknown> } };
    expect(body.error.data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400, field: 'runId' });
    expect(body.error.data.stack).toBeUndefined();
    expect(JSON.stringify(body)).not.toMatch(/\.ts:\d+/);
  });

  it('answers input that is not JSON with BAD_REQUEST', async () => {
    const res = await fetch(`${api.url}/trpc/runs.create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"agentId": ',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { data: Record<string, unknown> } };
    expect(body.error.data.code).toBe('BAD_REQUEST');
    expect(body.error.data.stack).toBeUndefined();
  });

  it('answers a query sent as a POST (and a mutation sent as a GET) with an error, not a 500', async () => {
    const before = await ledgerFingerprint(api);
    const post = await fetch(`${api.url}/trpc/runs.list`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(post.status).toBeGreaterThanOrEqual(400);
    expect(post.status).toBeLessThan(500);
    const get = await fetch(
      `${api.url}/trpc/runs.create?input=${encodeURIComponent(JSON.stringify({ agentId: newId('agent') }))}`,
    );
    expect(get.status).toBeGreaterThanOrEqual(400);
    expect(get.status).toBeLessThan(500);
    expect(await ledgerFingerprint(api)).toBe(before);
  });

  it('answers a body over the limit with PAYLOAD_TOO_LARGE', async () => {
    const err = await callError(() =>
      client.runs.create.mutate({ agentId: newId('agent'), metadata: { blob: 'x'.repeat(2 * 1024 * 1024) } }),
    );
    expect(err).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', httpStatus: 413 });
  });
});

describe.each(databaseTargets())('error details in development ($name)', (target) => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startApi(target, { NODE_ENV: 'development' });
  });
  afterAll(async () => {
    await api?.close();
  });

  // Production answers were checked above: every row of the table asserts there is no stack.
  it('development answers include the stack trace', async () => {
    const c = api.client();
    const errors = [
      await callError(() => c.runs.retrieve.query({ runId: 'nonexistent-id' })),
      await callError(() => c.runs.retrieve.query({ runId: newId('run') })),
      await callError(() => c.runs.list.query({ cursor: 'garbage' })),
      await callError(() => api.client('rt_wrong').runs.list.query({})),
    ];
    for (const err of errors) expect(err.stack).toEqual(expect.stringContaining('at '));
  });
});
