import { databaseTargets, newId } from '@runtrace/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntraceClient } from './create-runtrace-client.ts';
import { callError, startApi, type TestApi } from './testing/start-api.ts';
import type { RouterInputs } from './types.ts';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

describe.each(databaseTargets())('api over HTTP through the typed client ($name)', (target) => {
  let api: TestApi;
  let client: RuntraceClient;

  beforeAll(async () => {
    api = await startApi(target, { RUNTRACE_CORS_ORIGINS: 'http://localhost:5173,https://dash.example.com' });
    client = api.client();
  });
  afterAll(async () => {
    await api?.close();
  });

  describe('the server', () => {
    it('answers GET /healthz with the database driver', async () => {
      const res = await fetch(`${api.url}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok', database: target.name === 'postgres' ? 'postgres' : 'pglite' });
    });

    it('allows a CORS preflight from a configured browser frontend with an Authorization header', async () => {
      const res = await fetch(`${api.url}/trpc/runs.list`, {
        method: 'OPTIONS',
        headers: {
          origin: 'http://localhost:5173',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
      expect(res.status).toBeLessThan(300);
      expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
      const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
      expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type']));
      expect((res.headers.get('access-control-allow-methods') ?? '').toUpperCase()).toContain('POST');
    });

    it('puts a configured CORS origin on ordinary responses too', async () => {
      const res = await fetch(`${api.url}/healthz`, { headers: { origin: 'https://dash.example.com' } });
      expect(res.headers.get('access-control-allow-origin')).toBe('https://dash.example.com');
    });

    it('speaks plain JSON on the wire: ISO timestamps and nanoseconds as decimal strings', async () => {
      const agentId = newId('agent');
      const created = await client.runs.create.mutate({ agentId });
      await client.runs.update.mutate({ runId: created.id, status: 'running', ttftNs: '9007199254740993123' });
      const input = encodeURIComponent(JSON.stringify({ runId: created.id }));
      const res = await fetch(`${api.url}/trpc/runs.retrieve?input=${input}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      const body = (await res.json()) as { result: { data: Record<string, unknown> } };
      expect(Object.keys(body)).toEqual(['result']);
      const data = body.result.data;
      expect(data).toMatchObject({ id: created.id, agentId, status: 'running', ttftNs: '9007199254740993123' });
      expect(data.createdAt).toEqual(expect.stringMatching(ISO));
      expect(data.updatedAt).toEqual(expect.stringMatching(ISO));
      expect(data.completedAt).toBeNull();
      // No superjson-style envelope: the data is the object itself.
      expect(data).not.toHaveProperty('json');

      const metrics = await fetch(`${api.url}/trpc/runs.metrics?input=${input}`);
      const m = ((await metrics.json()) as { result: { data: Record<string, unknown> } }).result.data;
      expect(m.runStartNs).toEqual(expect.stringMatching(/^\d+$/));
    });

    it('answers runs.list the same in every shape of a GET query: single, batched alone, batched with another', async () => {
      await client.runs.create.mutate({ agentId: newId('agent'), metadata: { n: 1 } });
      // Stacks (development only) name the route's own frames; everything else must be the same.
      const withoutStack = (body: unknown): unknown =>
        JSON.parse(JSON.stringify(body), (key, value) => (key === 'stack' ? undefined : value));
      const get = async (query: string) => {
        const res = await fetch(`${api.url}/trpc/${query}`);
        return { status: res.status, type: res.headers.get('content-type'), body: withoutStack(await res.json()) };
      };
      const q = (value: unknown) => encodeURIComponent(JSON.stringify(value));
      // Each answer of a batch of two calls is the reference.
      const viaTrpc = async (input: unknown) => {
        const res = await get(`runs.list,runs.list?batch=1&input=${q({ 0: input, 1: input })}`);
        return (res.body as unknown[])[0];
      };
      for (const input of [
        { limit: 2 },
        { limit: 0 },
        { limit: 2, nope: true },
        { limit: 2, cursor: 'bad' },
        { statuses: ['COMPLETED'] },
      ]) {
        const reference = await viaTrpc(input);
        const batched = await get(`runs.list?batch=1&input=${q({ 0: input })}`);
        expect(batched.body).toEqual([reference]);
        const single = await get(`runs.list?input=${q(input)}`);
        expect(single.body).toEqual(reference);
        const error = (reference as { error?: { data: { httpStatus: number } } }).error;
        expect(single.status).toBe(error ? error.data.httpStatus : 200);
        expect(batched.status).toBe(single.status);
        expect(single.type).toMatch(/^application\/json/);
      }
      expect(
        ((await get(`runs.list?input=${q({ limit: 1 })}`)).body as { result: { data: { items: unknown[] } } }).result
          .data.items,
      ).toHaveLength(1);
      // No input at all: the defaults.
      expect(await get('runs.list')).toMatchObject({
        status: 200,
        body: { result: { data: { items: expect.any(Array) } } },
      });
      // Not JSON: tRPC's own parse error.
      const notJson = await get('runs.list?input=%7Bbad');
      expect(notJson.status).toBe(400);
      expect((notJson.body as { error: { data: { code: string } } }).error.data.code).toBe('BAD_REQUEST');
    });

    it('answers an unknown procedure with NOT_FOUND, not an internal error', async () => {
      const res = await fetch(`${api.url}/trpc/runs.nope?input=${encodeURIComponent('{}')}`);
      expect(res.status).toBe(404);
      const body = (await res.json()) as { error: { data: { code: string } } };
      expect(body.error.data.code).toBe('NOT_FOUND');
    });
  });

  describe('runs', () => {
    it('lists without any input: every list filter has a default', async () => {
      expect(Array.isArray((await client.runs.list.query()).items)).toBe(true);
      expect(Array.isArray((await client.runs.listActive.query()).items)).toBe(true);
      expect(Array.isArray((await client.agents.list.query()).items)).toBe(true);
    });

    it('creates, retrieves, updates through the status machine, and lists', async () => {
      const agentId = newId('agent');
      const conversationId = `conv-${Date.now()}`;
      const run = await client.runs.create.mutate({
        agentId,
        background: true,
        conversationId,
        metadata: { source: 'api.test', n: 1 },
        requestConfig: { useAssistantMessage: true },
        projectId: 'project-1',
        templateId: 'template-1',
        baseTemplateId: 'base-1',
      });
      expect(run).toMatchObject({
        agentId,
        status: 'created',
        stopReason: null,
        background: true,
        conversationId,
        baseTemplateId: 'base-1',
        metadata: { source: 'api.test', n: 1 },
        completedAt: null,
      });
      expect(run.id).toMatch(/^run-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(run.createdAt).toMatch(ISO);
      expect(await client.runs.retrieve.query({ runId: run.id })).toEqual(run);

      const running = await client.runs.update.mutate({ runId: run.id, status: 'running', metadata: { n: 2, m: 3 } });
      expect(running).toMatchObject({ status: 'running', metadata: { source: 'api.test', n: 2, m: 3 } });
      expect(running.completedAt).toBeNull();

      const active = await client.runs.listActive.query({ agentId });
      expect(active.items.map((r) => r.id)).toEqual([run.id]);

      const done = await client.runs.update.mutate({
        runId: run.id,
        stopReason: 'end_turn',
        ttftNs: '1500000',
        totalDurationNs: '123456789012345678',
      });
      expect(done).toMatchObject({ status: 'completed', stopReason: 'end_turn', ttftNs: '1500000' });
      expect(done.totalDurationNs).toBe('123456789012345678');
      expect(done.completedAt).toMatch(ISO);
      // Repeating the terminal status is idempotent.
      const again = await client.runs.update.mutate({ runId: run.id, status: 'completed' });
      expect(again.status).toBe('completed');
      expect(again.completedAt).toBe(done.completedAt);

      expect((await client.runs.listActive.query({ agentId })).items).toEqual([]);
      const listed = await client.runs.list.query({ agentId });
      expect(listed).toEqual({
        items: [expect.objectContaining({ id: run.id, status: 'completed' })],
        nextCursor: null,
      });
      for (const filter of [
        { statuses: ['completed' as const] },
        { stopReason: 'end_turn' as const },
        { conversationId },
        { background: true },
      ]) {
        const page = await client.runs.list.query({ agentId, ...filter });
        expect(page.items.map((r) => r.id)).toEqual([run.id]);
      }
      expect((await client.runs.list.query({ agentId, statuses: ['running', 'failed'] })).items).toEqual([]);
      expect((await client.runs.list.query({ agentId, background: false })).items).toEqual([]);
      expect((await client.runs.list.query({ agentId, statuses: [] })).items).toEqual([]);

      const metrics = await client.runs.metrics.query({ runId: run.id });
      expect(metrics).toMatchObject({
        id: run.id,
        agentId,
        projectId: 'project-1',
        templateId: 'template-1',
        baseTemplateId: 'base-1',
        numSteps: 0,
        runNs: '123456789012345678',
      });
    });

    it('lists newest first by default and oldest first on request, with working cursors', async () => {
      const agentId = newId('agent');
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await client.runs.create.mutate({ agentId })).id);
      const desc = await client.runs.list.query({ agentId, limit: 3 });
      expect(desc.items.map((r) => r.id)).toEqual(ids.slice(2).reverse());
      expect(desc.nextCursor).toEqual(expect.any(String));
      const rest = await client.runs.list.query({ agentId, limit: 3, cursor: desc.nextCursor });
      expect(rest.items.map((r) => r.id)).toEqual(ids.slice(0, 2).reverse());
      expect(rest.nextCursor).toBeNull();
      const asc = await client.runs.list.query({ agentId, order: 'asc', limit: 1000 });
      expect(asc.items.map((r) => r.id)).toEqual(ids);
    });

    it('cancels a run (idempotently) and records the stop reason', async () => {
      const agentId = newId('agent');
      const run = await client.runs.create.mutate({ agentId });
      await client.runs.update.mutate({ runId: run.id, status: 'running' });
      const cancelled = await client.runs.cancel.mutate({ runId: run.id });
      expect(cancelled).toMatchObject({ id: run.id, status: 'cancelled', stopReason: 'cancelled' });
      expect(cancelled.completedAt).toMatch(ISO);
      expect(await client.runs.cancel.mutate({ runId: run.id })).toEqual(cancelled);
      const agents = await client.agents.list.query({ limit: 1000 });
      expect(agents.items.find((a) => a.id === agentId)?.lastStopReason).toBe('cancelled');
    });

    it('is idempotent for a client-chosen id: same content → same run, other content → CONFLICT', async () => {
      const id = newId('run');
      const agentId = newId('agent');
      const input = { id, agentId, metadata: { attempt: 'same' }, background: false };
      const first = await client.runs.create.mutate(input);
      expect(first.id).toBe(id);
      const second = await client.runs.create.mutate({ ...input, metadata: { attempt: 'same' } });
      expect(second).toEqual(first);
      const err = await callError(client.runs.create.mutate({ ...input, metadata: { attempt: 'other' } }));
      expect(err).toMatchObject({ code: 'CONFLICT', httpStatus: 409, field: 'id' });
      expect(err.message).toContain(id);
      expect((await client.runs.list.query({ agentId })).items).toHaveLength(1);
      expect(await client.runs.retrieve.query({ runId: id })).toEqual(first);
    });
  });

  describe('steps, usage and metrics', () => {
    it('creates and retrieves a step with nanosecond timings as strings, idempotently by client id', async () => {
      const run = await client.runs.create.mutate({ agentId: newId('agent') });
      const id = newId('step');
      const input = {
        id,
        runId: run.id,
        model: 'gpt-test',
        providerName: 'openai',
        promptTokens: 10,
        completionTokens: 5,
        tags: ['a', 'b'],
        status: 'success' as const,
        stepStartNs: '1764226800123456789',
        llmRequestNs: 2_000_000,
      };
      const step = await client.steps.create.mutate(input);
      expect(step).toMatchObject({
        id,
        runId: run.id,
        agentId: run.agentId,
        model: 'gpt-test',
        totalTokens: 15,
        tags: ['a', 'b'],
        stepStartNs: '1764226800123456789',
        llmRequestNs: '2000000',
        status: 'success',
      });
      expect(step.createdAt).toMatch(ISO);
      expect(await client.steps.retrieve.query({ stepId: id })).toEqual(step);
      expect(await client.steps.create.mutate(input)).toEqual(step);
      const err = await callError(client.steps.create.mutate({ ...input, promptTokens: 11 }));
      expect(err).toMatchObject({ code: 'CONFLICT', field: 'id' });
      expect((await client.runs.steps.query({ runId: run.id })).items).toEqual([step]);
    });

    it('sums usage over more than 50 steps and counts them in the metrics after a terminal update', async () => {
      const run = await client.runs.create.mutate({ agentId: newId('agent') });
      await client.runs.update.mutate({ runId: run.id, status: 'running' });
      const n = 60;
      // 60 calls: the client batches them over more than one HTTP request (maxBatchItems 50).
      const created = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          client.steps.create.mutate({
            runId: run.id,
            promptTokens: 100 + i,
            // completionTokens includes the reasoning tokens, so never fewer than them
            completionTokens: 10 + i,
            promptTokensDetails: i % 2 === 0 ? { cached_tokens: 3 } : null,
            completionTokensDetails: i < 10 ? { reasoning_tokens: 7 } : null,
          }),
        ),
      );
      expect(new Set(created.map((s) => s.id)).size).toBe(n);
      const sum = (f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i)).reduce((a, b) => a + b, 0);
      const usage = await client.runs.usage.query({ runId: run.id });
      expect(usage).toEqual({
        promptTokens: sum((i) => 100 + i),
        completionTokens: sum((i) => 10 + i),
        totalTokens: sum((i) => 110 + 2 * i),
        stepCount: n,
        cachedInputTokens: 3 * (n / 2),
        cacheWriteTokens: null,
        reasoningTokens: 70,
        // no model: no price matched, every token unpriced
        costUsd: null,
        unpricedTokens: sum((i) => 110 + 2 * i),
      });

      const done = await client.runs.update.mutate({ runId: run.id, status: 'completed', stopReason: 'end_turn' });
      expect(done.status).toBe('completed');
      const metrics = await client.runs.metrics.query({ runId: run.id });
      expect(metrics.numSteps).toBe(n);
      expect(metrics.runNs).toEqual(expect.stringMatching(/^\d+$/));
      expect(BigInt(metrics.runNs ?? '0')).toBeGreaterThan(0n);

      // The steps list pages through all 60, newest first, each exactly once.
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Awaited<ReturnType<typeof client.runs.steps.query>> = await client.runs.steps.query({
          runId: run.id,
          limit: 25,
          cursor,
        });
        seen.push(...page.items.map((s) => s.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toHaveLength(n);
      expect(new Set(seen)).toEqual(new Set(created.map((s) => s.id)));
    });

    it('answers zero usage for a run without steps', async () => {
      const run = await client.runs.create.mutate({ agentId: newId('agent') });
      expect(await client.runs.usage.query({ runId: run.id })).toEqual({
        promptTokens: 0,
        completionTokens: 0,
        totalTokens: 0,
        stepCount: 0,
        cachedInputTokens: null,
        cacheWriteTokens: null,
        reasoningTokens: null,
        costUsd: null,
        unpricedTokens: 0,
      });
    });
  });

  describe('messages', () => {
    const batch = (stepId?: string): RouterInputs['messages']['create']['messages'] => [
      { messageType: 'user_message', content: 'What is the weather?' },
      { messageType: 'reasoning_message', reasoning: 'I should call the tool', stepId },
      {
        messageType: 'tool_call_message',
        toolCall: { name: 'get_weather', arguments: '{"city":"Paris"}', toolCallId: 'call-1' },
        stepId,
      },
      { messageType: 'tool_return_message', toolReturn: 'sunny', status: 'success', toolCallId: 'call-1' },
      { messageType: 'assistant_message', content: [{ type: 'text', text: 'It is sunny.' }] },
    ];

    it('appends messages and lists them chronologically, in both orders and across pages', async () => {
      const run = await client.runs.create.mutate({ agentId: newId('agent') });
      const step = await client.steps.create.mutate({ runId: run.id });
      const first = await client.messages.create.mutate({ runId: run.id, messages: batch(step.id) });
      expect(first.map((m) => m.seqId)).toEqual([1, 2, 3, 4, 5]);
      expect(first[2]).toMatchObject({
        messageType: 'tool_call_message',
        runId: run.id,
        agentId: run.agentId,
        stepId: step.id,
        toolCall: { name: 'get_weather' },
      });
      const id = newId('message');
      const date = '2026-01-02T03:04:05.123456Z';
      const second = await client.messages.create.mutate({
        runId: run.id,
        messages: [{ id, date, messageType: 'assistant_message', content: 'Anything else?', otid: 'otid-1' }],
      });
      expect(second).toEqual([expect.objectContaining({ id, date, seqId: 6, otid: 'otid-1' })]);

      const asc = await client.runs.messages.query({ runId: run.id });
      expect(asc.items.map((m) => m.messageType)).toEqual([
        'user_message',
        'reasoning_message',
        'tool_call_message',
        'tool_return_message',
        'assistant_message',
        'assistant_message',
      ]);
      expect(asc.items.map((m) => m.seqId)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(asc.items[0]).toEqual(first[0]);
      const desc = await client.runs.messages.query({ runId: run.id, order: 'desc', limit: 4 });
      expect(desc.items.map((m) => m.seqId)).toEqual([6, 5, 4, 3]);
      const descRest = await client.runs.messages.query({
        runId: run.id,
        order: 'desc',
        limit: 4,
        cursor: desc.nextCursor,
      });
      expect(descRest.items.map((m) => m.seqId)).toEqual([2, 1]);
      expect(descRest.nextCursor).toBeNull();

      // The tool call's name shows up in the run's metrics once it ends.
      await client.runs.update.mutate({ runId: run.id, stopReason: 'end_turn' });
      expect((await client.runs.metrics.query({ runId: run.id })).toolsUsed).toEqual(['get_weather']);
    });

    it("filters the listing by the run's requestConfig.includeReturnMessageTypes", async () => {
      const run = await client.runs.create.mutate({
        agentId: newId('agent'),
        requestConfig: { includeReturnMessageTypes: ['assistant_message', 'tool_call_message'] },
      });
      await client.messages.create.mutate({ runId: run.id, messages: batch() });
      const listed = await client.runs.messages.query({ runId: run.id });
      expect(listed.items.map((m) => [m.seqId, m.messageType])).toEqual([
        [3, 'tool_call_message'],
        [5, 'assistant_message'],
      ]);
      const page = await client.runs.messages.query({ runId: run.id, limit: 1 });
      expect(page.items.map((m) => m.seqId)).toEqual([3]);
      const next = await client.runs.messages.query({ runId: run.id, limit: 1, cursor: page.nextCursor });
      expect(next.items.map((m) => m.seqId)).toEqual([5]);
      expect(next.nextCursor).toBeNull();

      const none = await client.runs.create.mutate({
        agentId: newId('agent'),
        requestConfig: { includeReturnMessageTypes: [] },
      });
      await client.messages.create.mutate({ runId: none.id, messages: batch() });
      expect((await client.runs.messages.query({ runId: none.id })).items).toEqual([]);
    });
  });

  describe('agents', () => {
    it('lists agents created on first use, with their last stop reason', async () => {
      const a = newId('agent');
      const b = newId('agent');
      const runA = await client.runs.create.mutate({ agentId: a });
      await client.runs.create.mutate({ agentId: b });
      await client.runs.create.mutate({ agentId: a });
      await client.runs.update.mutate({ runId: runA.id, stopReason: 'llm_api_error' });
      const all = await client.agents.list.query({ limit: 1000 });
      const ids = all.items.map((x) => x.id);
      expect(ids.filter((id) => id === a)).toHaveLength(1);
      expect(ids.indexOf(b)).toBeLessThan(ids.indexOf(a));
      expect(all.items.find((x) => x.id === a)).toMatchObject({ lastStopReason: 'llm_api_error' });
      expect(all.items.find((x) => x.id === b)).toMatchObject({ lastStopReason: null });
      const asc = await client.agents.list.query({ limit: 1000, order: 'asc' });
      expect(asc.items.map((x) => x.id)).toEqual([...ids].reverse());
      const first = await client.agents.list.query({ limit: 1 });
      expect(first.items).toHaveLength(1);
      const second = await client.agents.list.query({ limit: 1, cursor: first.nextCursor });
      expect(second.items[0]?.id).toBe(ids[1]);
    });
  });

  describe('batching and concurrency', () => {
    it('splits a large batch of queries so the URL stays within what the server accepts', async () => {
      const agentId = newId('agent');
      const run = await client.runs.create.mutate({ agentId, conversationId: 'c'.repeat(200) });
      const input = {
        agentId,
        statuses: ['created', 'running', 'completed', 'failed', 'cancelled'] as const,
        conversationId: 'c'.repeat(200),
        order: 'asc' as const,
        limit: 1000,
      };
      const pages = await Promise.all(
        Array.from({ length: 50 }, () => client.runs.list.query({ ...input, statuses: [...input.statuses] })),
      );
      expect(pages.map((p) => p.items.map((r) => r.id))).toEqual(Array.from({ length: 50 }, () => [run.id]));
      // And the connection is still good afterwards.
      expect((await client.runs.retrieve.query({ runId: run.id })).id).toBe(run.id);
    });

    it('concurrent retries of one idempotent create all get the same run', async () => {
      const id = newId('run');
      const agentId = newId('agent');
      const runs = await Promise.all(Array.from({ length: 20 }, () => client.runs.create.mutate({ id, agentId })));
      expect(new Set(runs.map((r) => JSON.stringify(r))).size).toBe(1);
      expect((await client.runs.list.query({ agentId })).items).toHaveLength(1);
      expect(await api.count(`select count(*) from run_metrics where id = '${id}'`)).toBe(1);
    });

    it('concurrent creates of one id with different content: exactly one wins, the rest are CONFLICT', async () => {
      const id = newId('run');
      const agentId = newId('agent');
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => client.runs.create.mutate({ id, agentId, metadata: { i } })),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected')
          expect(await callError(Promise.reject(r.reason))).toMatchObject({ code: 'CONFLICT' });
      }
      const stored = await client.runs.retrieve.query({ runId: id });
      expect(stored.metadata).toEqual((won[0] as PromiseFulfilledResult<typeof stored>).value.metadata);
    });

    it('concurrent appends to one run get distinct, gapless positions in call order within each batch', async () => {
      const run = await client.runs.create.mutate({ agentId: newId('agent') });
      const batches = await Promise.all(
        Array.from({ length: 20 }, (_, b) =>
          client.messages.create.mutate({
            runId: run.id,
            messages: [0, 1, 2].map((i) => ({ messageType: 'assistant_message' as const, content: `${b}.${i}` })),
          }),
        ),
      );
      for (const batch of batches) {
        const [first] = batch.map((m) => m.seqId);
        expect(batch.map((m) => m.seqId)).toEqual([first, first! + 1, first! + 2]);
      }
      const listed = await client.runs.messages.query({ runId: run.id, limit: 1000 });
      expect(listed.items.map((m) => m.seqId)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    });

    it('a run ended while steps are still being recorded counts every step that committed', async () => {
      const run = await client.runs.create.mutate({ agentId: newId('agent') });
      await client.runs.update.mutate({ runId: run.id, status: 'running' });
      await Promise.all(
        Array.from({ length: 10 }, () => client.steps.create.mutate({ runId: run.id, promptTokens: 1 })),
      );
      await client.runs.update.mutate({ runId: run.id, stopReason: 'end_turn' });
      expect((await client.runs.metrics.query({ runId: run.id })).numSteps).toBe(10);
      // Steps recorded late still count (the producer's last step may land after the terminal update).
      await client.steps.create.mutate({ runId: run.id, promptTokens: 1 });
      expect((await client.runs.metrics.query({ runId: run.id })).numSteps).toBe(11);
      expect((await client.runs.usage.query({ runId: run.id })).stepCount).toBe(11);
    });
  });

  describe('delete', () => {
    it('removes the run with its steps, messages and metrics', async () => {
      const agentId = newId('agent');
      const run = await client.runs.create.mutate({ agentId });
      const step = await client.steps.create.mutate({ runId: run.id, promptTokens: 1 });
      await client.messages.create.mutate({
        runId: run.id,
        messages: [{ messageType: 'assistant_message', content: 'bye', stepId: step.id }],
      });
      await client.runs.update.mutate({ runId: run.id, stopReason: 'end_turn' });
      const kept = await client.runs.create.mutate({ agentId });

      const deleted = await client.runs.delete.mutate({ runId: run.id });
      expect(deleted).toMatchObject({ id: run.id, status: 'completed' });

      for (const call of [
        () => client.runs.retrieve.query({ runId: run.id }),
        () => client.runs.metrics.query({ runId: run.id }),
        () => client.runs.usage.query({ runId: run.id }),
        () => client.runs.steps.query({ runId: run.id }),
        () => client.runs.messages.query({ runId: run.id }),
        () => client.runs.delete.mutate({ runId: run.id }),
      ]) {
        expect(await callError(call)).toMatchObject({ code: 'NOT_FOUND', httpStatus: 404, field: 'runId' });
      }
      expect(await callError(() => client.steps.retrieve.query({ stepId: step.id }))).toMatchObject({
        code: 'NOT_FOUND',
        field: 'stepId',
      });
      expect((await client.runs.list.query({ agentId })).items.map((r) => r.id)).toEqual([kept.id]);

      for (const table of ['steps', 'messages', 'provider_traces']) {
        expect(await api.count(`select count(*) from ${table} where run_id = '${run.id}'`)).toBe(0);
      }
      expect(await api.count(`select count(*) from run_metrics where id = '${run.id}'`)).toBe(0);
    });

    it('cancels a running run before deleting it', async () => {
      const agentId = newId('agent');
      const run = await client.runs.create.mutate({ agentId });
      await client.runs.update.mutate({ runId: run.id, status: 'running' });
      const deleted = await client.runs.delete.mutate({ runId: run.id });
      expect(deleted).toMatchObject({ id: run.id, status: 'cancelled', stopReason: 'cancelled' });
      expect(deleted.completedAt).toMatch(ISO);
      expect(await callError(client.runs.retrieve.query({ runId: run.id }))).toMatchObject({ code: 'NOT_FOUND' });
      expect((await client.runs.listActive.query({ agentId })).items).toEqual([]);
      const agents = await client.agents.list.query({ limit: 1000 });
      expect(agents.items.find((a) => a.id === agentId)?.lastStopReason).toBe('cancelled');
    });
  });
});
