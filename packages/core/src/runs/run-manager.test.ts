import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../actor.ts';
import { Conflict, InvalidArgument, NotFound } from '../errors.ts';
import { createTestRuntime, databaseTargets, newId, type TestRuntime } from '../testing/index.ts';
import { MAX_STEP_DURATION_NS } from './schemas.ts';

const agentId = () => newId('agent');

describe.each(databaseTargets())('run, step and message managers on $name', (target) => {
  let rt: TestRuntime;
  let actor: Actor;
  let other: Actor;

  beforeAll(async () => {
    rt = await createTestRuntime(target);
    actor = await rt.auth.ensureDefaultActor();
    const org = await rt.auth.createOrganization('other');
    other = { organizationId: org.id, userId: org.userId };
  });
  afterAll(async () => {
    await rt?.dispose();
  });

  describe('create and retrieve', () => {
    it('creates a run in status created with its metrics row, and agents on first use', async () => {
      const agent = agentId();
      const before = process.hrtime.bigint();
      const run = await rt.runs.create(actor, { agentId: agent, metadata: { a: 1 }, background: true });
      expect(run.id).toMatch(/^run-[0-9a-f-]{36}$/);
      expect(run).toMatchObject({ status: 'created', agentId: agent, metadata: { a: 1 }, background: true });
      expect(run.completedAt).toBeNull();
      expect(run.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
      expect(await rt.runs.retrieve(actor, { runId: run.id })).toEqual(run);
      const metrics = await rt.runs.metrics(actor, { runId: run.id });
      expect(metrics).toMatchObject({ id: run.id, agentId: agent, numSteps: 0, runNs: null });
      expect(BigInt(metrics.runStartNs)).toBeGreaterThan(0n);
      expect(before).toBeGreaterThan(0n);
      const agents = await rt.agents.list(actor, {});
      expect(agents.items.map((a) => a.id)).toContain(agent);
      expect((await rt.agents.list(other, {})).items.map((a) => a.id)).not.toContain(agent);
    });

    it('records run_start_ns within the create call', async () => {
      const t0 = BigInt(Date.now()) * 1_000_000n;
      const run = await rt.runs.create(actor, { agentId: agentId() });
      const t1 = BigInt(Date.now() + 1) * 1_000_000n;
      const { runStartNs } = await rt.runs.metrics(actor, { runId: run.id });
      expect(BigInt(runStartNs)).toBeGreaterThanOrEqual(t0 - 5_000_000n);
      expect(BigInt(runStartNs)).toBeLessThanOrEqual(t1 + 5_000_000n);
    });

    it('is idempotent for a client id with the same content, and a conflict with other content', async () => {
      const id = newId('run');
      const agent = agentId();
      const first = await rt.runs.create(actor, { id, agentId: agent, metadata: { k: 'v' } });
      const again = await rt.runs.create(actor, { id, agentId: agent, metadata: { k: 'v' } });
      expect(again).toEqual(first);
      await expect(rt.runs.create(actor, { id, agentId: agent, metadata: { k: 'w' } })).rejects.toBeInstanceOf(
        Conflict,
      );
      await expect(rt.runs.create(other, { id, agentId: agent, metadata: { k: 'v' } })).rejects.toBeInstanceOf(
        Conflict,
      );
      const runs = await rt.runs.list(actor, { agentId: agent });
      expect(runs.items).toHaveLength(1);
    });

    it('answers a malformed id with InvalidArgument and an unknown or foreign one with NotFound', async () => {
      await expect(rt.runs.retrieve(actor, { runId: 'nonexistent-id' })).rejects.toThrow(
        /Invalid run ID format: nonexistent-id/,
      );
      await expect(rt.runs.retrieve(actor, { runId: newId('run') })).rejects.toBeInstanceOf(NotFound);
      const run = await rt.runs.create(actor, { agentId: agentId() });
      await expect(rt.runs.retrieve(other, { runId: run.id })).rejects.toBeInstanceOf(NotFound);
      await expect(rt.runs.metrics(other, { runId: run.id })).rejects.toBeInstanceOf(NotFound);
      await expect(rt.runs.usage(other, { runId: run.id })).rejects.toBeInstanceOf(NotFound);
    });
  });

  describe('list filters', () => {
    let agent: string;
    const ids: Record<string, string> = {};
    beforeAll(async () => {
      agent = agentId();
      const make = async (name: string, input: Record<string, unknown>, stop?: string) => {
        const run = await rt.runs.create(actor, { agentId: agent, ...input });
        if (stop) await rt.runs.update(actor, { runId: run.id, stopReason: stop as 'end_turn' });
        ids[name] = run.id;
      };
      await make('created', {});
      await make('running', { background: true });
      await rt.runs.update(actor, { runId: ids.running as string, status: 'running' });
      await make('completed', { conversationId: 'conv-1' }, 'end_turn');
      await make('failed', { background: false }, 'llm_api_error');
      await make('cancelled', { background: true, conversationId: 'conv-1' }, 'cancelled');
    });
    const names = async (input: Parameters<TestRuntime['runs']['list']>[1]) => {
      const page = await rt.runs.list(actor, { agentId: agent, ...input });
      const byId = Object.fromEntries(Object.entries(ids).map(([k, v]) => [v, k]));
      return page.items.map((r) => byId[r.id]).sort();
    };

    it('filters by statuses (several, duplicates allowed), active, background, stop reason and conversation', async () => {
      expect(await names({})).toEqual(['cancelled', 'completed', 'created', 'failed', 'running']);
      expect(await names({ statuses: ['completed'] })).toEqual(['completed']);
      expect(await names({ statuses: ['created', 'running', 'created'] })).toEqual(['created', 'running']);
      expect(await names({ statuses: ['completed', 'failed'] })).toEqual(['completed', 'failed']);
      expect(await names({ statuses: [] })).toEqual([]);
      expect(await names({ active: true })).toEqual(['created', 'running']);
      expect(await names({ active: true, statuses: ['failed'] })).toEqual(['failed']);
      expect(await names({ background: true })).toEqual(['cancelled', 'running']);
      expect(await names({ background: false })).toEqual(['failed']);
      expect(await names({ stopReason: 'llm_api_error' })).toEqual(['failed']);
      expect(await names({ conversationId: 'conv-1' })).toEqual(['cancelled', 'completed']);
      const active = await rt.runs.listActive(actor, { agentId: agent });
      expect(active.items.map((r) => r.status).sort()).toEqual(['created', 'running']);
    });

    it('rejects statuses case-sensitively and limits outside 1..1000', async () => {
      await expect(rt.runs.list(actor, { statuses: ['COMPLETED' as 'completed'] })).rejects.toThrow();
      await expect(rt.runs.list(actor, { statuses: ['Completed' as 'completed'] })).rejects.toThrow();
      await expect(rt.runs.list(actor, { limit: 0 })).rejects.toThrow();
      await expect(rt.runs.list(actor, { limit: 1001 })).rejects.toThrow();
      expect((await rt.runs.list(actor, { limit: 1000 })).items.length).toBeGreaterThan(0);
    });

    it('orders by (createdAt, id) in both directions and pages with exact cursors', async () => {
      for (const order of ['asc', 'desc'] as const) {
        const all = (await rt.runs.list(actor, { agentId: agent, order })).items.map((r) => r.id);
        const walked: string[] = [];
        let cursor: string | null = null;
        do {
          const page: Awaited<ReturnType<TestRuntime['runs']['list']>> = await rt.runs.list(actor, {
            agentId: agent,
            order,
            limit: 2,
            cursor,
          });
          walked.push(...page.items.map((r) => r.id));
          cursor = page.nextCursor;
        } while (cursor);
        expect(walked).toEqual(all);
      }
      const desc = (await rt.runs.list(actor, { agentId: agent })).items;
      expect(desc.map((r) => r.createdAt)).toEqual(
        desc
          .map((r) => r.createdAt)
          .sort()
          .reverse(),
      );
    });

    it('refuses a cursor of another order or list', async () => {
      const page = await rt.runs.list(actor, { agentId: agent, limit: 1 });
      expect(page.nextCursor).toBeTruthy();
      await expect(rt.runs.list(actor, { order: 'asc', cursor: page.nextCursor })).rejects.toBeInstanceOf(
        InvalidArgument,
      );
      await expect(
        rt.steps.listByRun(actor, { runId: ids.created as string, cursor: page.nextCursor }),
      ).rejects.toThrow(/another list/);
      await expect(rt.runs.list(actor, { cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidArgument);
    });
  });

  describe('update', () => {
    it('sets completedAt on the first terminal update, merges metadata, records runNs and numSteps over all steps', async () => {
      const run = await rt.runs.create(actor, { agentId: agentId(), metadata: { keep: true, n: 1 } });
      await rt.runs.update(actor, { runId: run.id, status: 'running' });
      for (let i = 0; i < 55; i++) {
        await rt.steps.create(actor, { runId: run.id, promptTokens: 10, completionTokens: 5 });
      }
      const running = await rt.runs.metrics(actor, { runId: run.id });
      expect(running).toMatchObject({ numSteps: 55, runNs: null });
      await new Promise((r) => setTimeout(r, 100));
      const done = await rt.runs.update(actor, {
        runId: run.id,
        stopReason: 'end_turn',
        metadata: { n: 2, error: null },
        ttftNs: '1234567890123456789',
      });
      expect(done.status).toBe('completed');
      expect(done.completedAt).not.toBeNull();
      expect(done.metadata).toEqual({ keep: true, n: 2, error: null });
      expect(done.ttftNs).toBe('1234567890123456789');
      const metrics = await rt.runs.metrics(actor, { runId: run.id });
      expect(metrics.numSteps).toBe(55);
      expect(BigInt(metrics.runNs ?? 0)).toBeGreaterThanOrEqual(100_000_000n);
      expect(BigInt(metrics.runNs ?? 0)).toBeLessThan(10_000_000_000n);
      expect(done.totalDurationNs).toBe(metrics.runNs);
      const usage = await rt.runs.usage(actor, { runId: run.id });
      expect(usage).toEqual({
        promptTokens: 550,
        completionTokens: 275,
        totalTokens: 825,
        stepCount: 55,
        cachedInputTokens: null,
        cacheWriteTokens: null,
        reasoningTokens: null,
        costUsd: null,
        unpricedTokens: 825,
      });
      const again = await rt.runs.update(actor, { runId: run.id, status: 'completed' });
      expect(again.completedAt).toBe(done.completedAt);
      const agents = await rt.agents.list(actor, {});
      expect(agents.items.find((a) => a.id === run.agentId)?.lastStopReason).toBe('end_turn');
    });

    it('uses the reported total duration as runNs, and a running update leaves runNs unset', async () => {
      const run = await rt.runs.create(actor, { agentId: agentId() });
      await rt.runs.update(actor, { runId: run.id, status: 'running', metadata: { phase: 1 } });
      expect((await rt.runs.metrics(actor, { runId: run.id })).runNs).toBeNull();
      const done = await rt.runs.update(actor, { runId: run.id, status: 'failed', totalDurationNs: 42 });
      expect((await rt.runs.metrics(actor, { runId: run.id })).runNs).toBe('42');
      expect(done).toMatchObject({ status: 'failed', metadata: { phase: 1 }, totalDurationNs: '42' });
    });

    it('keeps a total duration reported before the run ended as runNs, not the time until the ending update', async () => {
      const run = await rt.runs.create(actor, { agentId: agentId() });
      await rt.runs.update(actor, {
        runId: run.id,
        status: 'running',
        ttftNs: 586_000_000,
        totalDurationNs: 1_204_000_000,
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      const done = await rt.runs.update(actor, { runId: run.id, status: 'completed', stopReason: 'end_turn' });
      expect((await rt.runs.metrics(actor, { runId: run.id })).runNs).toBe('1204000000');
      expect(done.totalDurationNs).toBe('1204000000');
    });

    it('enforces the transition table and the canonical stop reason mapping', async () => {
      const run = await rt.runs.create(actor, { agentId: agentId() });
      await rt.runs.update(actor, { runId: run.id, status: 'running' });
      await expect(rt.runs.update(actor, { runId: run.id, status: 'created' })).rejects.toBeInstanceOf(Conflict);
      await expect(
        rt.runs.update(actor, { runId: run.id, status: 'completed', stopReason: 'error' }),
      ).rejects.toBeInstanceOf(InvalidArgument);
      const failed = await rt.runs.update(actor, { runId: run.id, stopReason: 'max_tokens_exceeded' });
      expect(failed.status).toBe('failed');
      await expect(rt.runs.update(actor, { runId: run.id, status: 'completed' })).rejects.toBeInstanceOf(Conflict);
      await expect(rt.runs.update(actor, { runId: run.id, status: 'running' })).rejects.toBeInstanceOf(Conflict);
      expect((await rt.runs.update(actor, { runId: run.id, status: 'failed' })).status).toBe('failed');
      expect((await rt.runs.retrieve(actor, { runId: run.id })).stopReason).toBe('max_tokens_exceeded');
    });

    it('lets a run waiting for approval be cancelled, and cancel is idempotent', async () => {
      const run = await rt.runs.create(actor, { agentId: agentId() });
      const waiting = await rt.runs.update(actor, { runId: run.id, stopReason: 'requires_approval' });
      expect(waiting.status).toBe('completed');
      const cancelled = await rt.runs.cancel(actor, { runId: run.id });
      expect(cancelled).toMatchObject({ status: 'cancelled', stopReason: 'cancelled' });
      expect(await rt.runs.cancel(actor, { runId: run.id })).toEqual(cancelled);
      const ended = await rt.runs.create(actor, { agentId: agentId() });
      const completed = await rt.runs.update(actor, { runId: ended.id, stopReason: 'end_turn' });
      expect(await rt.runs.cancel(actor, { runId: ended.id })).toEqual(completed);
    });

    it('serialises concurrent terminal updates: exactly one wins', async () => {
      const run = await rt.runs.create(actor, { agentId: agentId() });
      const results = await Promise.allSettled([
        rt.runs.update(actor, { runId: run.id, stopReason: 'end_turn' }),
        rt.runs.update(actor, { runId: run.id, stopReason: 'error' }),
        rt.runs.update(actor, { runId: run.id, stopReason: 'llm_api_error' }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(Conflict);
    });

    it('cannot be done by another organization', async () => {
      const run = await rt.runs.create(actor, { agentId: agentId() });
      await expect(rt.runs.update(other, { runId: run.id, status: 'running' })).rejects.toBeInstanceOf(NotFound);
      await expect(rt.runs.cancel(other, { runId: run.id })).rejects.toBeInstanceOf(NotFound);
      await expect(rt.runs.delete(other, { runId: run.id })).rejects.toBeInstanceOf(NotFound);
      expect((await rt.runs.retrieve(actor, { runId: run.id })).status).toBe('created');
    });
  });

  describe('client-chosen ids taken elsewhere (CONTRACTS §3)', () => {
    it('concurrent creates of one id from two organizations: one wins, every other gets the one idTaken answer', async () => {
      const errorOf = (p: Promise<unknown>) =>
        p.then(
          () => null,
          (err: unknown) => err,
        );
      const own = await rt.runs.create(other, { agentId: agentId() });
      const mine = await rt.runs.create(actor, { agentId: agentId() });
      for (const [kind, create] of [
        [
          'run',
          (who: Actor, id: string, n: number) =>
            rt.runs.create(who, { id, agentId: 'agent-00000000-0000-4000-8000-000000000000', metadata: { n } }),
        ],
        [
          'step',
          (who: Actor, id: string, n: number) =>
            rt.steps.create(who, { id, runId: who === other ? own.id : mine.id, promptTokens: n }),
        ],
        [
          'message',
          (who: Actor, id: string, n: number) =>
            rt.messages.append(who, {
              runId: who === other ? own.id : mine.id,
              messages: [
                { messageType: 'assistant_message', content: `${n}` },
                { id, messageType: 'assistant_message', content: `${n}` },
              ],
            }),
        ],
      ] as const) {
        const id = newId(kind);
        const results = await Promise.all(
          Array.from({ length: 6 }, (_, n) => errorOf(create(n % 2 ? other : actor, id, n) as Promise<unknown>)),
        );
        const errors = results.filter((r) => r !== null);
        expect(errors, kind).toHaveLength(5);
        const field = kind === 'message' ? 'messages.1.id' : 'id';
        for (const err of errors) {
          expect(err, kind).toBeInstanceOf(Conflict);
          expect({ message: (err as Conflict).message, field: (err as Conflict).field }).toEqual({
            message: `id ${id} is already taken; choose another id`,
            field,
          });
        }
      }
      // the losing message batches wrote nothing, not even their first message
      const counts = await Promise.all([
        rt.messages.listByRun(actor, { runId: mine.id, limit: 100 }),
        rt.messages.listByRun(other, { runId: own.id, limit: 100 }),
      ]);
      expect(counts.map((p) => p.items.length).reduce((x, y) => x + y)).toBe(2);
    });
  });

  describe('callbacks', () => {
    let server: http.Server;
    let url: string;
    const received: { body: Record<string, unknown>; signature: string | undefined }[] = [];
    beforeAll(async () => {
      server = http.createServer((req, res) => {
        let data = '';
        req.on('data', (c) => {
          data += c;
        });
        req.on('end', () => {
          received.push({ body: JSON.parse(data), signature: req.headers['x-runtrace-signature'] as string });
          res.statusCode = 202;
          res.end();
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('POSTs once on the first terminal update and stores the result', async () => {
      const run = await rt.runs.create(actor, { agentId: agentId(), callbackUrl: url, metadata: { m: 1 } });
      await rt.runs.update(actor, { runId: run.id, status: 'running' });
      await rt.runs.settleCallbacks();
      expect(received.filter((r) => r.body.run_id === run.id)).toHaveLength(0);
      const done = await rt.runs.update(actor, { runId: run.id, stopReason: 'end_turn' });
      await rt.runs.update(actor, { runId: run.id, status: 'completed' });
      await rt.runs.settleCallbacks();
      const mine = received.filter((r) => r.body.run_id === run.id);
      expect(mine).toHaveLength(1);
      expect(mine[0]?.body).toEqual({
        run_id: run.id,
        status: 'completed',
        completed_at: done.completedAt,
        metadata: { m: 1 },
      });
      const stored = await rt.runs.retrieve(actor, { runId: run.id });
      expect(stored.callbackStatusCode).toBe(202);
      expect(stored.callbackSentAt).not.toBeNull();
      expect(stored.callbackError).toBeNull();
    });

    it('stores the error of a callback that cannot be delivered, without failing the update', async () => {
      const run = await rt.runs.create(actor, { agentId: agentId(), callbackUrl: 'http://127.0.0.1:1/nothing' });
      const done = await rt.runs.update(actor, { runId: run.id, stopReason: 'end_turn' });
      expect(done.status).toBe('completed');
      await rt.runs.settleCallbacks();
      const stored = await rt.runs.retrieve(actor, { runId: run.id });
      expect(stored.callbackStatusCode).toBeNull();
      expect(stored.callbackError).toMatch(/ECONNREFUSED/);
    });
  });

  describe('steps and messages', () => {
    it("refuses a step duration past MAX_STEP_DURATION_NS, naming the field, so a run's and an hour's sums always fit", async () => {
      const run = await rt.runs.create(actor, { agentId: agentId() });
      for (const field of ['llmRequestNs', 'toolExecutionNs', 'stepNs'] as const) {
        const err = await rt.steps
          .create(actor, { runId: run.id, [field]: String(MAX_STEP_DURATION_NS + 1n) })
          .catch((e: unknown) => e);
        // The api answers it BAD_REQUEST naming the field (tRPC's input validation of this schema).
        expect((err as { issues?: { path: string[]; message: string }[] }).issues?.[0]).toMatchObject({
          path: [field],
          message: expect.stringContaining('at most 1000000000000000'),
        });
      }
      // Two steps at the bound (INT8_MAX each overflowed the run's LLM time at the second: a fuzz find).
      for (let i = 0; i < 2; i++) await rt.steps.create(actor, { runId: run.id, llmRequestNs: MAX_STEP_DURATION_NS });
      expect((await rt.runs.retrieve(actor, { runId: run.id })).llmNs).toBe(String(2n * MAX_STEP_DURATION_NS));
      expect((await rt.steps.listByRun(actor, { runId: run.id })).items).toHaveLength(2);
    });

    it('creates steps (idempotently by client id) and lists them newest first', async () => {
      const run = await rt.runs.create(actor, { agentId: agentId() });
      const id = newId('step');
      const step = await rt.steps.create(actor, {
        id,
        runId: run.id,
        providerName: 'openai',
        model: 'gpt-4.1',
        promptTokens: 100,
        completionTokens: 50,
        promptTokensDetails: { cached_tokens: 30, cache_creation_tokens: 7 },
        completionTokensDetails: { reasoning_tokens: 12 },
        traceId: 'abc',
        llmRequestNs: '123456789',
        status: 'success',
      });
      expect(step).toMatchObject({
        id,
        runId: run.id,
        agentId: run.agentId,
        totalTokens: 150,
        llmRequestNs: '123456789',
      });
      expect(
        await rt.steps.create(actor, {
          id,
          runId: run.id,
          providerName: 'openai',
          model: 'gpt-4.1',
          promptTokens: 100,
          completionTokens: 50,
          promptTokensDetails: { cached_tokens: 30, cache_creation_tokens: 7 },
          completionTokensDetails: { reasoning_tokens: 12 },
          traceId: 'abc',
          llmRequestNs: '123456789',
          status: 'success',
        }),
      ).toEqual(step);
      await expect(rt.steps.create(actor, { id, runId: run.id, model: 'other' })).rejects.toBeInstanceOf(Conflict);
      const second = await rt.steps.create(actor, {
        runId: run.id,
        promptTokens: 10,
        completionTokens: 1,
        promptTokensDetails: { cache_read_tokens: 5 },
      });
      expect((await rt.steps.retrieve(actor, { stepId: id })).model).toBe('gpt-4.1');
      await expect(rt.steps.retrieve(other, { stepId: id })).rejects.toBeInstanceOf(NotFound);
      const page = await rt.steps.listByRun(actor, { runId: run.id });
      expect(page.items.map((s) => s.id)).toEqual([second.id, id]);
      expect((await rt.steps.listByRun(actor, { runId: run.id, order: 'asc' })).items.map((s) => s.id)).toEqual([
        id,
        second.id,
      ]);
      await expect(rt.steps.listByRun(other, { runId: run.id })).rejects.toBeInstanceOf(NotFound);
      await expect(rt.steps.create(other, { runId: run.id })).rejects.toBeInstanceOf(NotFound);
      expect(await rt.runs.usage(actor, { runId: run.id })).toEqual({
        promptTokens: 110,
        completionTokens: 51,
        totalTokens: 161,
        stepCount: 2,
        cachedInputTokens: 35,
        cacheWriteTokens: 7,
        reasoningTokens: 12,
        // gpt-4.1's shipped price: 63 input × $2 + 30 cached × $0.5 + (38 output + 12 reasoning) × $8 per million;
        // its 7 cache writes have no price, nor has the second step (no model): 7 + 11 unpriced.
        costUsd: '0.000541',
        unpricedTokens: 18,
      });
      expect((await rt.runs.metrics(actor, { runId: run.id })).numSteps).toBe(2);
    });

    it('appends messages in order, lists them chronologically, and honours includeReturnMessageTypes', async () => {
      const run = await rt.runs.create(actor, {
        agentId: agentId(),
        requestConfig: { includeReturnMessageTypes: ['assistant_message', 'tool_call_message'] },
      });
      const plain = await rt.runs.create(actor, { agentId: agentId() });
      const batch = [
        { messageType: 'user_message' as const, content: 'What is the weather?' },
        { messageType: 'reasoning_message' as const, reasoning: 'Look it up.' },
        { messageType: 'tool_call_message' as const, toolCall: { name: 'weather', arguments: '{}', toolCallId: 'c1' } },
        {
          messageType: 'tool_return_message' as const,
          toolReturn: 'sunny',
          status: 'success' as const,
          toolCallId: 'c1',
        },
        { messageType: 'assistant_message' as const, content: 'Sunny.' },
      ];
      for (const r of [run, plain]) {
        await rt.messages.append(actor, { runId: r.id, messages: batch.slice(0, 2) });
        await rt.messages.append(actor, { runId: r.id, messages: batch.slice(2) });
      }
      const all = await rt.messages.listByRun(actor, { runId: plain.id });
      expect(all.items.map((m) => m.messageType)).toEqual(batch.map((m) => m.messageType));
      expect(all.items.map((m) => m.seqId)).toEqual([1, 2, 3, 4, 5]);
      expect(all.items[3]).toMatchObject({ toolReturn: 'sunny', status: 'success', toolCallId: 'c1' });
      const desc = await rt.messages.listByRun(actor, { runId: plain.id, order: 'desc', limit: 2 });
      expect(desc.items.map((m) => m.seqId)).toEqual([5, 4]);
      const next = await rt.messages.listByRun(actor, {
        runId: plain.id,
        order: 'desc',
        limit: 2,
        cursor: desc.nextCursor,
      });
      expect(next.items.map((m) => m.seqId)).toEqual([3, 2]);
      const filtered = await rt.messages.listByRun(actor, { runId: run.id });
      expect(filtered.items.map((m) => m.messageType)).toEqual(['tool_call_message', 'assistant_message']);
      await expect(rt.messages.listByRun(other, { runId: run.id })).rejects.toBeInstanceOf(NotFound);
      await expect(
        rt.messages.append(other, { runId: run.id, messages: [{ messageType: 'system_message', content: 'x' }] }),
      ).rejects.toBeInstanceOf(NotFound);
    });

    it('gives concurrent appends distinct, gapless positions', async () => {
      const run = await rt.runs.create(actor, { agentId: agentId() });
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          rt.messages.append(actor, {
            runId: run.id,
            messages: [
              { messageType: 'assistant_message', content: `${i}a` },
              { messageType: 'assistant_message', content: `${i}b` },
            ],
          }),
        ),
      );
      const page = await rt.messages.listByRun(actor, { runId: run.id });
      expect(page.items.map((m) => m.seqId)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      // each batch stays contiguous
      for (let i = 0; i < 20; i += 2) {
        const a = page.items[i] as { content?: string };
        const b = page.items[i + 1] as { content?: string };
        expect(String(a.content).slice(0, -1)).toBe(String(b.content).slice(0, -1));
      }
    });

    it('refuses duplicate message ids without writing anything', async () => {
      const run = await rt.runs.create(actor, { agentId: agentId() });
      const id = newId('message');
      await rt.messages.append(actor, {
        runId: run.id,
        messages: [{ id, messageType: 'assistant_message', content: 'a' }],
      });
      await expect(
        rt.messages.append(actor, {
          runId: run.id,
          messages: [
            { messageType: 'assistant_message', content: 'b' },
            { id, messageType: 'assistant_message', content: 'c' },
          ],
        }),
      ).rejects.toBeInstanceOf(Conflict);
      expect((await rt.messages.listByRun(actor, { runId: run.id })).items).toHaveLength(1);
    });
  });

  describe('delete', () => {
    it('cancels a running run first, then removes it with its steps, messages and metrics', async () => {
      const run = await rt.runs.create(actor, { agentId: agentId() });
      await rt.runs.update(actor, { runId: run.id, status: 'running' });
      const step = await rt.steps.create(actor, { runId: run.id });
      await rt.messages.append(actor, {
        runId: run.id,
        messages: [{ messageType: 'assistant_message', content: 'x' }],
      });
      const deleted = await rt.runs.delete(actor, { runId: run.id });
      expect(deleted.status).toBe('cancelled');
      await expect(rt.runs.retrieve(actor, { runId: run.id })).rejects.toBeInstanceOf(NotFound);
      await expect(rt.runs.metrics(actor, { runId: run.id })).rejects.toBeInstanceOf(NotFound);
      await expect(rt.steps.retrieve(actor, { stepId: step.id })).rejects.toBeInstanceOf(NotFound);
      await expect(rt.messages.listByRun(actor, { runId: run.id })).rejects.toBeInstanceOf(NotFound);
      expect((await rt.runs.list(actor, { agentId: run.agentId })).items).toHaveLength(0);
      await expect(rt.runs.delete(actor, { runId: run.id })).rejects.toBeInstanceOf(NotFound);
      await expect(rt.runs.delete(actor, { runId: 'nonexistent-id' })).rejects.toThrow(/Invalid run ID format/);
    });
  });
});
