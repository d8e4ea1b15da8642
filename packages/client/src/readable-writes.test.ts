/**
 * Whatever a write accepts, every read path returns (CONTRACTS §9): values at and beyond the edges of what the stores
 * hold are written, then every tRPC and REST read of them is made. A value beyond the edge must be refused at the
 * door (BAD_REQUEST naming the field); had it been accepted, the reads show what it would have broken.
 */
import { databaseTargets, newId } from '@runtrace/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntraceClient } from './create-runtrace-client.ts';
import { callError, startApi, type TestApi } from './testing/start-api.ts';

/** The run and step every write aims at (a fresh pair per case, so one case's row cannot hide another's). */
interface Target {
  runId: string;
  stepId: string;
}

interface Case {
  name: string;
  write(c: RuntraceClient, t: Target): Promise<unknown>;
  field: string;
  /** What the refusal must say besides the field. */
  why: RegExp;
}

const RANGE = /0001-01-01T00:00:00Z and 9999-12-31T23:59:59\.999999Z/;

const message = (date: string) => (c: RuntraceClient, t: Target) =>
  c.messages.create.mutate({
    runId: t.runId,
    messages: [{ messageType: 'assistant_message', content: 'x', date, stepId: t.stepId }],
  });

const trace = (createdAt: string) => (c: RuntraceClient, t: Target) =>
  c.providerTraces.create.mutate({ requestJson: {}, responseJson: {}, runId: t.runId, stepId: t.stepId, createdAt });

const timestampCases: Case[] = [
  {
    name: 'messages.create date 9999-12-31T23:59:59-14:00 (year 10000 in UTC)',
    write: message('9999-12-31T23:59:59-14:00'),
    field: 'messages.0.date',
    why: RANGE,
  },
  {
    name: 'messages.create date 0001-01-01T00:00:00+14:00 (before year 1 in UTC)',
    write: message('0001-01-01T00:00:00+14:00'),
    field: 'messages.0.date',
    why: RANGE,
  },
  {
    name: 'messages.create date 9999-12-31T23:59:59.9999995Z (rounds into year 10000)',
    write: message('9999-12-31T23:59:59.9999995Z'),
    field: 'messages.0.date',
    why: RANGE,
  },
  {
    name: 'messages.create date with offset +16:00',
    write: message('2024-01-01T00:00:00+16:00'),
    field: 'messages.0.date',
    why: /±15:59/,
  },
  {
    name: 'runs.update completedAt with offset +23:00',
    write: (c, t) =>
      c.runs.update.mutate({ runId: t.runId, status: 'completed', completedAt: '2024-01-01T00:00:00+23:00' }),
    field: 'completedAt',
    why: /±15:59/,
  },
  {
    name: 'runs.update completedAt 9999-12-31T23:59:59-14:00',
    write: (c, t) =>
      c.runs.update.mutate({ runId: t.runId, status: 'completed', completedAt: '9999-12-31T23:59:59-14:00' }),
    field: 'completedAt',
    why: RANGE,
  },
  {
    name: 'providerTraces.create createdAt in year 0000',
    write: trace('0000-01-01T00:00:00Z'),
    field: 'createdAt',
    why: /year 0000/,
  },
  {
    name: 'providerTraces.create createdAt 9999-12-31T23:59:59-14:00',
    write: trace('9999-12-31T23:59:59-14:00'),
    field: 'createdAt',
    why: RANGE,
  },
  {
    name: 'providerTraces.create createdAt with offset +23:00',
    write: trace('2024-01-01T00:00:00+23:00'),
    field: 'createdAt',
    why: /±15:59/,
  },
  {
    name: 'runs.appendEvents event date with offset +23:00',
    write: (c, t) =>
      c.runs.appendEvents.mutate({
        runId: t.runId,
        events: [{ messageType: 'assistant_message', content: 'x', date: '2024-01-01T00:00:00+23:00' }],
      }),
    field: 'events.0.date',
    why: /±15:59/,
  },
];

// biome-ignore lint/suspicious/noExplicitAny: deliberately ill-typed inputs
const loose = (value: unknown): any => value;

/** The token-detail keys the usage read casts to bigint, with values a JSON caller can send. */
const DETAIL_KEYS = [
  ['promptTokensDetails', 'cached_tokens'],
  ['promptTokensDetails', 'cache_read_tokens'],
  ['promptTokensDetails', 'cache_creation_tokens'],
  ['completionTokensDetails', 'reasoning_tokens'],
] as const;
const BAD_COUNTS: unknown[] = [1.5, 'abc', '12', 1e30, 2 ** 31, -1, [1], true, { n: 1 }];

const tokenDetailCases: Case[] = DETAIL_KEYS.flatMap(([column, key]) =>
  BAD_COUNTS.map(
    (value): Case => ({
      name: `steps.create ${column}.${key} ${JSON.stringify(value)}`,
      write: (c, t) =>
        c.steps.create.mutate(loose({ runId: t.runId, [column]: { [key]: value, provider_specific: 'free-form' } })),
      field: `${column}.${key}`,
      why: /integer|number|expected/i,
    }),
  ),
);

/** Every read of a run and its step, as tRPC queries (procedure, input) and REST paths. */
function readsOf(t: Target): { trpc: [string, unknown][]; rest: string[] } {
  return {
    trpc: [
      ['runs.retrieve', { runId: t.runId }],
      ['runs.list', {}],
      ['runs.listActive', {}],
      ['runs.messages', { runId: t.runId }],
      ['runs.usage', { runId: t.runId }],
      ['runs.metrics', { runId: t.runId }],
      ['runs.steps', { runId: t.runId }],
      ['steps.retrieve', { stepId: t.stepId }],
      ['steps.trace', { stepId: t.stepId }],
      ['providerTraces.list', { runId: t.runId }],
    ],
    rest: [
      `/v1/runs/${t.runId}`,
      '/v1/runs/',
      '/v1/runs/active',
      `/v1/runs/${t.runId}/messages`,
      `/v1/runs/${t.runId}/usage`,
      `/v1/runs/${t.runId}/metrics`,
      `/v1/runs/${t.runId}/steps`,
      `/v1/steps/${t.stepId}`,
      `/v1/steps/${t.stepId}/messages`,
      `/v1/steps/${t.stepId}/metrics`,
      `/v1/steps/${t.stepId}/trace`,
      '/v1/steps/',
    ],
  };
}

/** The reads that answered 5xx, as `<read> → <status>`. */
async function failingReads(api: TestApi, t: Target): Promise<string[]> {
  const { trpc, rest } = readsOf(t);
  const answers = await Promise.all([
    ...trpc.map(async ([procedure, input]) => {
      const res = await fetch(`${api.url}/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`);
      return [`tRPC ${procedure}`, res.status, await res.text()] as const;
    }),
    ...rest.map(async (path) => {
      const res = await fetch(`${api.url}${path}`);
      return [`GET ${path}`, res.status, await res.text()] as const;
    }),
  ]);
  return answers
    .filter(([, status]) => status >= 500)
    .map(([read, status, body]) => `${read} → ${status} ${body.slice(0, 120)}`);
}

/** `edges`: writes just inside the bounds, which must be accepted and read back. */
function describeReadableWrites(
  title: string,
  cases: () => Case[],
  edges?: (api: TestApi, c: RuntraceClient) => Promise<void>,
): void {
  describe.each(databaseTargets())(`${title} ($name)`, (target) => {
    let api: TestApi;
    let client: RuntraceClient;

    beforeAll(async () => {
      api = await startApi(target, { NODE_ENV: 'production' });
      client = api.client();
    });
    afterAll(async () => {
      await api?.close();
    });

    it.each(cases().map((c) => ({ ...c })))(
      '$name → BAD_REQUEST naming $field; every read still answers',
      async ({ write, field, why }) => {
        const run = await client.runs.create.mutate({ agentId: newId('agent'), background: true });
        const step = await client.steps.create.mutate({ runId: run.id, promptTokens: 1 });
        const t = { runId: run.id, stepId: step.id };
        const refusal = await callError(() => write(client, t)).catch((err: Error) => ({ accepted: err.message }));
        const reads = await failingReads(api, t);
        expect({ refusal, reads }).toMatchObject({
          refusal: { code: 'BAD_REQUEST', httpStatus: 400, field },
          reads: [],
        });
        expect((refusal as { message: string }).message).toContain(field);
        expect((refusal as { message: string }).message).toMatch(why);
      },
    );

    if (edges) it('accepts what lies just inside the bounds, and reads it back', () => edges(api, client));
  });
}

describeReadableWrites('timestamps beyond what the stores hold are refused', () => timestampCases);
describeReadableWrites(
  'token details the usage read cannot sum are refused',
  () => tokenDetailCases,
  async (api, c) => {
    const run = await c.runs.create.mutate({ agentId: newId('agent') });
    const step = await c.steps.create.mutate({
      runId: run.id,
      // promptTokens includes the cached tokens, so it is at least as many
      promptTokens: 2 ** 31 - 1,
      promptTokensDetails: {
        cached_tokens: 2 ** 31 - 1,
        cache_creation_tokens: null,
        audio: 'free-form',
        nested: { x: [1.5] },
      },
      completionTokensDetails: { reasoning_tokens: 0, accepted_prediction_tokens: 1.5 },
    });
    await c.steps.create.mutate({ runId: run.id, promptTokens: 5, promptTokensDetails: { cache_read_tokens: 5 } });
    expect(step.promptTokensDetails).toMatchObject({ audio: 'free-form', nested: { x: [1.5] } });
    expect(await c.runs.usage.query({ runId: run.id })).toMatchObject({
      cachedInputTokens: 2 ** 31 + 4,
      reasoningTokens: null,
    });
    expect(await failingReads(api, { runId: run.id, stepId: step.id })).toEqual([]);
  },
);
