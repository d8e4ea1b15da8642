/**
 * One generator per tRPC procedure and per `/v1` route (the coverage test fails when one is missing), each with the
 * reads that must succeed after an accepted write.
 */
import {
  FEEDBACK_VALUES,
  MESSAGE_TYPES,
  otlpProtoTypes,
  RUN_STATUSES,
  STOP_REASONS,
} from '@runtrace/core';
import fc from 'fast-check';
import { anyDate, anyString, edgeNumbers, idOf, junk, longString, safeObject, safeString } from './arbitraries.ts';
import { type Answer, encodeLoose } from './fuzz-client.ts';
import { type Generated, inputsOf, mostlyValid, objectOf, type Shape } from './generated.ts';
import { contains, type FuzzState, forgetRun, ok, ReadBackError, readRun, readStep, same } from './reads.ts';

export interface Target {
  gen: fc.Arbitrary<Generated>;
  /** Paths (in the generated input) of ids that must exist: other organizations' and unknown ids → 404. */
  lookups: string[];
  send(s: FuzzState, input: unknown): Promise<Answer>;
  /** After a 2xx answer: the reads of what was written (throws ReadBackError). */
  after?(s: FuzzState, input: unknown, answer: Answer): Promise<void>;
  /** REST (422/400 `detail`) rather than tRPC (error `data.field`). */
  rest: boolean;
}

// ---- shared arbitraries ----------------------------------------------------------------------------------------

const bool = fc.boolean();
const order = fc.constantFrom('asc', 'desc');
const limit = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 1000 }) }, { weight: 1, arbitrary: fc.constantFrom(...edgeNumbers) });
const cursor = fc.oneof(
  fc.constantFrom('garbage', Buffer.from('{"v":1}').toString('base64url'), Buffer.from('null').toString('base64url')),
  anyString,
);
const runId = idOf('run');
const stepId = idOf('step');
const agentId = idOf('agent');
const backgroundRunId = idOf('run', {}, 'backgroundRun');
/** Runs the suite created (the fixtures, which other checks read, are never deleted). */
const deletableRunId = idOf('run', { own: 3 }, 'deletableRun');
const newRunId = idOf('run', { own: 1, other: 1, unknown: 10 });
const nanos = fc.oneof(
  { weight: 4, arbitrary: fc.nat() },
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 9_223_372_036_854_775_807n }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('9223372036854775807', '9223372036854775808', '1.5', '-1', '0') },
);
const tokens = fc.oneof({ weight: 9, arbitrary: fc.nat(100_000) }, { weight: 1, arbitrary: fc.constantFrom(0, 2 ** 31 - 1, 2 ** 31) });
/** Token details as providers send them, including the values that broke `runs.usage`. */
const tokenDetails = fc.dictionary(
  fc.constantFrom('cached_tokens', 'cache_read_tokens', 'cache_creation_tokens', 'reasoning_tokens', 'audio_tokens'),
  fc.oneof({ weight: 6, arbitrary: fc.nat(10_000) }, { weight: 1, arbitrary: fc.constantFrom(1.5, 'abc', 1e30, [1], true, null, -1, 2 ** 31) }),
  { maxKeys: 3 },
);
const hex = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));

// ---- tRPC ------------------------------------------------------------------------------------------------------

type TrpcType = 'query' | 'mutation' | 'subscription';

function trpc(
  type: TrpcType,
  path: string,
  gen: Shape | fc.Arbitrary<Generated>,
  options: { lookups?: string[]; after?: Target['after']; valid?: number } = {},
): [string, Target] {
  return [
    path,
    {
      gen: gen instanceof fc.Arbitrary ? gen : inputsOf(gen, { valid: options.valid }),
      lookups: options.lookups ?? [],
      send: (s, input) => s.client.trpc(type, path, input),
      after: options.after,
      rest: false,
    },
  ];
}

const page = { order, limit, cursor };

const requestConfig = objectOf({
  optional: {
    useAssistantMessage: bool,
    assistantMessageToolName: safeString,
    assistantMessageToolKwarg: safeString,
    includeReturnMessageTypes: fc.array(fc.constantFrom(...MESSAGE_TYPES), { maxLength: 3 }),
  },
});

const messageCommon = {
  id: idOf('message', { own: 1, other: 1, unknown: 10, malformed: 1 }),
  date: anyDate,
  name: safeString,
  otid: safeString,
  senderId: safeString,
  stepId: idOf('step', { own: 8, other: 1, unknown: 1 }),
  isErr: bool,
};
const toolCall = objectOf({ optional: { name: safeString, arguments: safeString, toolCallId: safeString } });
const content = fc.oneof(safeString, fc.array(fc.record({ type: fc.constant('text'), text: safeString }), { maxLength: 2 }));
const message = fc.oneof(
  mostlyValid({ required: { messageType: fc.constant('assistant_message'), content }, optional: messageCommon }),
  mostlyValid({ required: { messageType: fc.constant('user_message'), content }, optional: messageCommon }),
  mostlyValid({ required: { messageType: fc.constant('system_message'), content: safeString }, optional: messageCommon }),
  mostlyValid({ required: { messageType: fc.constant('reasoning_message'), reasoning: safeString }, optional: messageCommon }),
  mostlyValid({ required: { messageType: fc.constant('tool_call_message'), toolCall }, optional: messageCommon }),
  mostlyValid({
    required: {
      messageType: fc.constant('tool_return_message'),
      toolReturn: safeString,
      status: fc.constantFrom('success', 'error'),
      toolCallId: safeString,
    },
    optional: messageCommon,
  }),
);

const eventCommon = { id: safeString, date: anyDate, otid: safeString, stepId: safeString, name: safeString };
const event = fc.oneof(
  mostlyValid({ required: { messageType: fc.constant('assistant_message'), content }, optional: eventCommon }),
  mostlyValid({ required: { messageType: fc.constant('reasoning_message'), reasoning: safeString }, optional: eventCommon }),
  mostlyValid({ required: { messageType: fc.constant('tool_call_message'), toolCall }, optional: eventCommon }),
  mostlyValid({ required: { messageType: fc.constant('stop_reason'), stopReason: fc.constantFrom(...STOP_REASONS) } }),
  mostlyValid({
    required: { messageType: fc.constant('usage_statistics') },
    optional: { promptTokens: tokens, completionTokens: tokens, totalTokens: tokens, stepCount: fc.nat(10), cachedInputTokens: tokens },
  }),
  mostlyValid({ required: { messageType: fc.constant('error_message'), errorType: safeString, message: safeString }, optional: eventCommon }),
);

const field = (value: unknown, key: string) => (value as Record<string, unknown>)[key];

/** Every tRPC procedure's generator. */
export function trpcTargets(): Map<string, Target> {
  return new Map<string, Target>([
    trpc('query', 'runs.list', {
      optional: {
        agentId,
        statuses: fc.array(fc.constantFrom(...RUN_STATUSES), { maxLength: 3 }),
        background: bool,
        stopReason: fc.constantFrom(...STOP_REASONS),
        conversationId: safeString,
        active: bool,
        ...page,
      },
    }),
    trpc('query', 'runs.listActive', { optional: { agentId, background: bool, limit, cursor } }),
    trpc('query', 'runs.retrieve', { required: { runId } }, { lookups: ['runId'] }),
    trpc('query', 'runs.messages', { required: { runId }, optional: page }, { lookups: ['runId'] }),
    trpc('query', 'runs.usage', { required: { runId } }, { lookups: ['runId'] }),
    trpc('query', 'runs.metrics', { required: { runId } }, { lookups: ['runId'] }),
    trpc('query', 'runs.steps', { required: { runId }, optional: page }, { lookups: ['runId'] }),
    trpc('query', 'runs.trace', { required: { runId }, optional: { limit: fc.integer({ min: 1, max: 5000 }) } }, { lookups: ['runId'] }),
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
          callbackUrl: fc.oneof({ weight: 4, arbitrary: fc.constant('http://127.0.0.1:9/callback') }, { weight: 1, arbitrary: fc.constantFrom('ftp://x', 'not a url') }),
          projectId: safeString,
          templateId: safeString,
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
          if (!s.pools.own.agent?.includes(created.agentId as string)) s.pools.own.agent?.push(created.agentId as string);
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
    trpc('mutation', 'runs.cancel', { required: { runId } }, {
      lookups: ['runId'],
      async after(s, input) {
        await readRun(s, field(input, 'runId') as string);
      },
    }),
    trpc('mutation', 'runs.delete', { required: { runId: deletableRunId } }, {
      lookups: ['runId'],
      async after(s, input) {
        const id = field(input, 'runId') as string;
        forgetRun(s, id);
        const gone = await s.client.trpc('query', 'runs.retrieve', { runId: id });
        if (gone.code !== 'NOT_FOUND') throw new ReadBackError(`runs.retrieve of a deleted run answered ${gone.status}`);
      },
    }),
    trpc(
      'mutation',
      'runs.appendEvents',
      { required: { runId: backgroundRunId, events: fc.array(event, { minLength: 1, maxLength: 4 }) }, optional: { end: bool } },
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
        optional: { lastEventId: fc.oneof(safeString, fc.constantFrom('0:0', '1:1')), startingAfter: fc.nat(), batchSize: limit, includePings: bool },
      },
      { lookups: ['runId'] },
    ),
    trpc('subscription', 'runs.changes', fc.oneof(
      inputsOf({ optional: { agentId, lastEventId: safeString } }),
      fc.constant<Generated>({ input: undefined, how: 'valid' }),
    )),
    trpc('query', 'steps.retrieve', { required: { stepId } }, { lookups: ['stepId'] }),
    trpc('query', 'steps.trace', { required: { stepId } }, { lookups: ['stepId'] }),
    trpc(
      'mutation',
      'steps.create',
      {
        required: { runId },
        optional: {
          id: idOf('step', { own: 1, other: 1, unknown: 10 }),
          origin: safeString,
          providerId: safeString,
          providerName: safeString,
          providerCategory: safeString,
          model: fc.oneof(safeString, fc.constantFrom('gpt-4o-mini', 'claude')),
          modelEndpoint: safeString,
          contextWindowLimit: tokens,
          promptTokens: tokens,
          completionTokens: tokens,
          totalTokens: tokens,
          promptTokensDetails: tokenDetails,
          completionTokensDetails: tokenDetails,
          stopReason: fc.constantFrom(...STOP_REASONS),
          tags: fc.array(safeString, { maxLength: 3 }),
          tid: safeString,
          traceId: fc.oneof(hex(16), safeString),
          requestId: safeString,
          feedback: fc.constantFrom(...FEEDBACK_VALUES),
          projectId: safeString,
          errorType: safeString,
          errorData: safeObject,
          status: fc.constantFrom('pending', 'success', 'failed'),
          stepStartNs: nanos,
          llmRequestStartNs: nanos,
          llmRequestNs: nanos,
          toolExecutionNs: nanos,
          stepNs: nanos,
        },
      },
      {
        lookups: ['runId'],
        valid: 9,
        async after(s, _input, answer) {
          const created = answer.data as Record<string, unknown>;
          const id = created.id as string;
          if (!s.pools.own.step?.includes(id)) s.pools.own.step?.push(id);
          s.stepRun.set(id, created.runId as string);
          const read = await readStep(s, id);
          same(read.step, created, 'steps.retrieve');
          for (const [name, value] of [
            ['model', created.model],
            ['trace_ids', created.traceId],
            ['tags', (created.tags as string[])[0]],
          ] as const) {
            if (typeof value !== 'string') continue;
            const list = await s.client.rest('GET', '/v1/steps/', { query: { [name]: value, limit: 1000 } });
            contains(ok(list, `GET /v1/steps/?${name}`), id, `GET /v1/steps/?${name}=…`);
          }
        },
      },
    ),
    trpc(
      'mutation',
      'messages.create',
      { required: { runId, messages: fc.array(message, { minLength: 1, maxLength: 3 }) } },
      {
        lookups: ['runId'],
        valid: 9,
        async after(s, input, answer) {
          const created = answer.data as Record<string, unknown>[];
          for (const m of created) if (!s.pools.own.message?.includes(m.id as string)) s.pools.own.message?.push(m.id as string);
          const read = await readRun(s, field(input, 'runId') as string);
          // A run's requestConfig may narrow its message lists to some types.
          const only = (read.run.requestConfig as { includeReturnMessageTypes?: string[] | null } | null)?.includeReturnMessageTypes;
          for (const m of created) {
            if (only && !only.includes(m.messageType as string)) continue;
            const listed = read.messages.items.find((item) => item.id === m.id);
            if (!listed) throw new ReadBackError(`runs.messages does not list ${m.id}`);
            same(listed.date, m.date, `runs.messages date of ${m.id}`);
            contains(read.rest.messages, m.id as string, 'GET /v1/runs/R/messages');
            if (typeof m.stepId === 'string' && s.stepRun.has(m.stepId)) {
              const step = await readStep(s, m.stepId);
              contains(step.rest.messages, m.id as string, 'GET /v1/steps/S/messages');
            }
          }
        },
      },
    ),
    trpc('query', 'agents.list', { optional: page }),
    trpc(
      'mutation',
      'providerTraces.create',
      {
        required: { requestJson: safeObject, responseJson: safeObject },
        optional: {
          id: idOf('providerTrace', { own: 1, other: 1, unknown: 10 }),
          stepId: idOf('step', { own: 8, unknown: 1, other: 1 }),
          runId: idOf('run', { own: 8, unknown: 1, other: 1 }),
          agentId,
          agentTags: fc.array(safeString, { maxLength: 3 }),
          callType: fc.oneof(safeString, fc.constant('agent_step')),
          createdAt: anyDate,
        },
      },
      {
        valid: 9,
        async after(s, input, answer) {
          const created = answer.data as Record<string, unknown>;
          if (!s.pools.own.providerTrace?.includes(created.id as string)) s.pools.own.providerTrace?.push(created.id as string);
          const traceRun = field(input, 'runId');
          if (typeof traceRun === 'string' && s.pools.own.run?.includes(traceRun)) {
            const read = await readRun(s, traceRun);
            contains(read.traces, created.id as string, 'providerTraces.list({ runId })');
          }
          const traceStep = field(input, 'stepId');
          if (typeof traceStep === 'string' && s.stepRun.has(traceStep)) {
            const read = await readStep(s, traceStep);
            if (read.trace === null) throw new ReadBackError('steps.trace is null after providerTraces.create');
          }
        },
      },
    ),
    trpc('query', 'providerTraces.list', { required: { runId }, optional: { limit } }, { lookups: ['runId'] }),
    trpc('query', 'providerTraces.health', fc.oneof(
      fc.constant<Generated>({ input: undefined, how: 'valid' }),
      junk.map((input): Generated => ({ input, how: 'junk' })),
    )),
  ]);
}

// ---- REST ------------------------------------------------------------------------------------------------------

/** A REST request before its ids are resolved: path parameters, query parameters, JSON body. */
interface RestInput {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body?: unknown;
}

function restPath(url: string, params: Record<string, unknown>): string {
  // Junk in a path parameter is sent as its JSON text (String() throws for an object whose `toString` is junk).
  const text = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
  return url.replace(/:(\w+)/g, (_, name: string) => encodeLoose(text(params[name])));
}

function rest(
  method: string,
  url: string,
  parts: { params?: Shape; query?: Shape; body?: Shape },
  options: { after?: Target['after']; valid?: number } = {},
): [string, Target] {
  const params = parts.params ?? {};
  const query = parts.query ?? { optional: {} };
  // One part at a time is mutated; the others stay valid.
  const gen = fc
    .tuple(
      fc.constantFrom(...(['params', 'query', 'body'] as const).filter((p) => parts[p])),
      objectOf(params),
      objectOf(query),
      parts.body ? objectOf(parts.body) : fc.constant(undefined),
      fc.nat(99),
    )
    .chain(([part, p, q, b, dice]) => {
      const base: RestInput = { params: p, query: q, ...(parts.body ? { body: b } : {}) };
      if (dice < (options.valid ?? 45)) return fc.constant<Generated>({ input: base, how: 'valid' });
      const shape = parts[part] as Shape;
      return inputsOf(shape, { valid: 0 }).map((g): Generated => {
        // Path parameters are strings in a URL: junk there is its text.
        const input = part === 'params' && (typeof g.input !== 'object' || g.input === null) ? { ...p } : g.input;
        return { input: { ...base, [part]: input }, how: g.how, field: g.field ? `${part}.${g.field}` : part };
      });
    });
  return [
    `${method} ${url}`,
    {
      gen,
      lookups: Object.keys(params.required ?? {}).map((name) => `params.${name}`),
      send: (s, input) => {
        const i = input as RestInput;
        return s.client.rest(method, restPath(url, i.params), { query: i.query, body: i.body });
      },
      after: options.after,
      rest: true,
    },
  ];
}

const restPage = { before: idOf('run'), after: idOf('run'), limit, order, order_by: fc.constantFrom('created_at', 'id') };
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
    rest('DELETE', '/v1/runs/:run_id', { params: { required: { run_id: deletableRunId } } }, {
      async after(s, input) {
        const id = (input as RestInput).params.run_id as string;
        forgetRun(s, id);
        const gone = await s.client.rest('GET', `/v1/runs/${id}`);
        if (gone.status !== 404) throw new ReadBackError(`GET /v1/runs/R of a deleted run answered ${gone.status}`);
      },
    }),
    rest('GET', '/v1/runs/:run_id/messages', { params: runParams, query: { optional: pageOf('message') } }),
    rest('GET', '/v1/runs/:run_id/usage', { params: runParams }),
    rest('GET', '/v1/runs/:run_id/metrics', { params: runParams }),
    rest('GET', '/v1/runs/:run_id/steps', { params: runParams, query: { optional: pageOf('step') } }),
    rest('GET', '/v1/runs/:run_id/trace', { params: runParams, query: { optional: { limit } } }),
    rest('POST', '/v1/runs/:run_id/stream', {
      params: { required: { run_id: backgroundRunId } },
      body: { optional: { starting_after: fc.nat(), include_pings: bool, poll_interval: fc.double(), batch_size: limit, conversation_id: safeString } },
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
        body: { optional: { feedback: fc.constantFrom(...FEEDBACK_VALUES, null), tags: fc.array(safeString, { maxLength: 3 }) } },
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

// ---- OTLP ------------------------------------------------------------------------------------------------------

const nanoText = fc.oneof(
  { weight: 5, arbitrary: fc.bigInt({ min: 1_600_000_000_000_000_000n, max: 1_900_000_000_000_000_000n }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('0', '-1', '1.5', '18446744073709551615', '18446744073709551616', 'abc', '1e30') },
);
const attribute = objectOf({
  required: { key: fc.oneof(safeString, anyString) },
  optional: {
    value: fc.oneof(
      anyString.map((stringValue) => ({ stringValue })),
      fc.integer().map((intValue) => ({ intValue })),
      bool.map((boolValue) => ({ boolValue })),
      fc.double().map((doubleValue) => ({ doubleValue })),
      junk,
    ),
  },
});

/** Whether a span starting at `start` (decimal nanoseconds) is within the default span retention (30 days). */
function withinRetention(start: unknown): boolean {
  if (typeof start !== 'string' || !/^\d{1,20}$/.test(start)) return false;
  // fixed64 on the wire: protobufjs encodes a value past 2^64 − 1 wrapped, and the api reads what was encoded
  return BigInt(start) % (1n << 64n) >= BigInt(Date.now() - 29 * 86_400_000) * 1_000_000n;
}

interface OtlpInput {
  format: 'json' | 'protobuf';
  request: unknown;
}

function otlpTarget(): Target {
  const span = (traceId: fc.Arbitrary<unknown>) =>
    mostlyValid({
      required: { traceId, spanId: hex(8), name: fc.oneof(safeString, anyString, fc.constant('agent_step')), startTimeUnixNano: nanoText, endTimeUnixNano: nanoText },
      optional: { parentSpanId: hex(8), kind: fc.integer({ min: -1, max: 6 }), attributes: fc.array(attribute, { maxLength: 3 }), status: objectOf({ optional: { code: fc.integer({ min: 0, max: 3 }), message: anyString } }) },
    });
  // `fixture` stands for the fixture step's trace id, filled in when the case runs.
  const traceId = fc.oneof({ weight: 3, arbitrary: fc.constant('fixture') }, { weight: 2, arbitrary: hex(16) }, { weight: 1, arbitrary: anyString });
  const request = objectOf({
    required: {
      resourceSpans: fc.array(
        mostlyValid({
          required: { scopeSpans: fc.array(mostlyValid({ required: { spans: fc.array(span(traceId), { minLength: 1, maxLength: 3 }) }, optional: { scope: objectOf({ optional: { name: anyString } }) } }), { minLength: 1, maxLength: 2 }) },
          optional: { resource: objectOf({ optional: { attributes: fc.array(attribute, { maxLength: 2 }) } }) },
        }),
        { minLength: 1, maxLength: 2 },
      ),
    },
  });
  const gen = fc.tuple(fc.constantFrom('json', 'protobuf'), fc.oneof({ weight: 6, arbitrary: request }, { weight: 1, arbitrary: junk })).map(
    ([format, req]): Generated => ({ input: { format, request: req } satisfies OtlpInput, how: 'valid' }),
  );
  const withTraceId = (value: unknown, id: string): unknown =>
    JSON.parse(JSON.stringify(value ?? null).replaceAll('"traceId":"fixture"', `"traceId":"${id}"`));
  return {
    gen,
    lookups: [],
    rest: true,
    async send(s, input) {
      const { format, request: raw } = input as OtlpInput;
      const req = withTraceId(raw, s.fixtureTraceId);
      if (format === 'json') {
        return s.client.rest('POST', '/v1/traces', { rawBody: JSON.stringify(req), headers: { 'content-type': 'application/json' } });
      }
      let bytes: Uint8Array;
      let garbled = false;
      try {
        // protobuf carries ids as bytes: hex strings become bytes, anything else is sent as it would be decoded.
        const types = otlpProtoTypes();
        const hexToBytes = JSON.parse(JSON.stringify(req), (key, v) =>
          (key === 'traceId' || key === 'spanId' || key === 'parentSpanId') && typeof v === 'string' ? Buffer.from(v, 'hex').toString('base64') : v,
        );
        bytes = types.ExportTraceServiceRequest.encode(types.ExportTraceServiceRequest.fromObject(hexToBytes)).finish();
      } catch {
        bytes = Buffer.from(JSON.stringify(req));
        garbled = true;
      }
      const answer = await s.client.rest('POST', '/v1/traces', { rawBody: Buffer.from(bytes), headers: { 'content-type': 'application/x-protobuf' } });
      answer.garbled = garbled;
      // Answers come in the request's encoding: decoded here so that the checks read them as JSON.
      const type = answer.status === 200 ? otlpProtoTypes().ExportTraceServiceResponse : otlpProtoTypes().Status;
      if (answer.data instanceof Buffer && answer.json === undefined) answer.json = type.decode(answer.data).toJSON();
      return answer;
    },
    async after(s, input, answer) {
      await s.flushTraces();
      await readRun(s, s.fixtureRunId);
      const rejected = Number((answer.json as { partialSuccess?: { rejectedSpans?: string } })?.partialSuccess?.rejectedSpans ?? 0);
      if (rejected > 0 || answer.garbled) return;
      // Every root span of the fixture trace id was accepted whole: the run's trace view draws it.
      const { request: raw } = input as OtlpInput;
      const roots = JSON.stringify(raw ?? null).includes('"traceId":"fixture"')
        ? (raw as { resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] }).resourceSpans
            .flatMap((r) => r.scopeSpans ?? [])
            .flatMap((ss) => ss.spans ?? [])
            // Spans that began before RUNTRACE_OTEL_TTL_DAYS (30) are expired by ClickHouse's TTL as they arrive.
            .filter((sp) => sp.traceId === 'fixture' && sp.parentSpanId === undefined && withinRetention(sp.startTimeUnixNano))
        : [];
      if (!roots.length) return;
      // The trace view lists the oldest spans first, at most 5000: only a view with room left must hold every root.
      const view = ok(await s.client.trpc('query', 'runs.trace', { runId: s.fixtureRunId, limit: 5000 }), 'runs.trace') as { spanId: string }[];
      if (view.length >= 5000) return;
      for (const root of roots) {
        if (!view.some((t) => t.spanId === root.spanId)) {
          throw new ReadBackError(`runs.trace does not list accepted root span ${String(root.spanId)}`);
        }
      }
    },
  };
}
