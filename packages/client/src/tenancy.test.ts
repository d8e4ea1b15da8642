import { databaseTargets, newId } from '@runtrace/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntraceClient, type RuntraceClient } from './create-runtrace-client.ts';
import { type CallError, callError, startApi, type TestApi } from './testing/start-api.ts';

/** What organization A owns, as B would have to guess or steal it. */
interface Owned {
  runId: string;
  /** A second run of A's that is still active, for cancel/delete/update from created or running. */
  activeRunId: string;
  agentId: string;
  stepId: string;
  messageId: string;
  stepsCursor: string;
  messagesCursor: string;
}

/** Everything A can read about its data, to check nothing changed after B's calls. */
async function snapshot(a: RuntraceClient, owned: Owned) {
  const runs = [owned.runId, owned.activeRunId];
  // Issued together, so the client sends them as one batched HTTP request.
  const [perRun, step, agents, list] = await Promise.all([
    Promise.all(
      runs.map((runId) =>
        Promise.all([
          a.runs.retrieve.query({ runId }),
          a.runs.steps.query({ runId, limit: 1000 }),
          a.runs.messages.query({ runId, limit: 1000 }),
          a.runs.usage.query({ runId }),
          a.runs.metrics.query({ runId }),
        ]),
      ),
    ),
    a.steps.retrieve.query({ stepId: owned.stepId }),
    a.agents.list.query({ limit: 1000 }),
    a.runs.list.query({ limit: 1000 }),
  ]);
  return { perRun, step, agents, list };
}

/** The message with the id replaced, so errors about different ids can be compared. */
const shape = (err: CallError, id: string) => ({
  ...err,
  message: err.message.replaceAll(id, '<id>'),
  stack: undefined,
});

describe.each(databaseTargets())('tenant isolation over HTTP ($name)', (target) => {
  let api: TestApi;
  let a: RuntraceClient;
  let b: RuntraceClient;
  let bKey: string;
  let owned: Owned;

  beforeAll(async () => {
    api = await startApi(target);
    const orgA = await api.runtime.auth.createOrganization('org A');
    const orgB = await api.runtime.auth.createOrganization('org B');
    a = api.client((await api.runtime.auth.createApiKey(orgA.id, 'a key')).key);
    bKey = (await api.runtime.auth.createApiKey(orgB.id, 'b key')).key;
    b = api.client(bKey);

    const agentId = newId('agent');
    const run = await a.runs.create.mutate({
      agentId,
      metadata: { owner: 'A' },
      requestConfig: { includeReturnMessageTypes: ['assistant_message', 'tool_call_message'] },
    });
    const steps = [];
    for (let i = 0; i < 3; i++)
      steps.push(await a.steps.create.mutate({ runId: run.id, promptTokens: 10, completionTokens: i }));
    const messages = await a.messages.create.mutate({
      runId: run.id,
      messages: [
        { messageType: 'tool_call_message', toolCall: { name: 'search' }, stepId: steps[0]?.id },
        { messageType: 'assistant_message', content: 'one' },
        { messageType: 'assistant_message', content: 'two' },
      ],
    });
    await a.runs.update.mutate({ runId: run.id, stopReason: 'end_turn' });
    const active = await a.runs.create.mutate({ agentId, metadata: { owner: 'A', active: true } });
    await a.runs.update.mutate({ runId: active.id, status: 'running' });
    await a.steps.create.mutate({ runId: active.id, promptTokens: 1 });

    const stepsPage = await a.runs.steps.query({ runId: run.id, limit: 1 });
    const messagesPage = await a.runs.messages.query({ runId: run.id, limit: 1 });
    owned = {
      runId: run.id,
      activeRunId: active.id,
      agentId,
      stepId: steps[0]!.id,
      messageId: messages[0]!.id,
      stepsCursor: stepsPage.nextCursor!,
      messagesCursor: messagesPage.nextCursor!,
    };
  });
  afterAll(async () => {
    await api?.close();
  });

  it('shows each organization only its own provider-trace counters in providerTraces.health; /metrics the totals', async () => {
    const health = async (c: RuntraceClient) => {
      const [postgres] = (await c.providerTraces.health.query()).backends;
      return postgres!;
    };
    const total = async () => {
      const text = await (await fetch(`${api.url}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith('runtrace_provider_trace_writes_total{backend="postgres",result="ok"}'));
      return Number(line?.split(' ').pop());
    };
    const trace = { requestJson: { model: 'm' }, responseJson: { ok: true } };
    const [a0, b0, total0] = [await health(a), await health(b), await total()];
    for (let i = 0; i < 3; i++) await a.providerTraces.create.mutate(trace);
    expect(await health(b)).toEqual(b0); // A's writes do not show in B's health
    await b.providerTraces.create.mutate(trace);
    const [a1, b1] = [await health(a), await health(b)];
    expect(a1.writesOk - a0.writesOk).toBe(3);
    expect(b1.writesOk - b0.writesOk).toBe(1);
    expect(await total()).toBe(total0 + 4); // the operator's /metrics counts every organization
    // backend-wide state, the same for everyone; per-tenant counters only present as the caller's own
    expect(Object.keys(b1).sort()).toEqual(
      [
        'backend',
        'dropped',
        'lastDroppedAt',
        'lastFailureAt',
        'lastOkAt',
        'latency',
        'possiblyLost',
        'queueBytes',
        'queueDepth',
        'reconnects',
        'writesFailed',
        'writesOk',
        'writesTimedOut',
      ].sort(),
    );
    // Latency and the last write are the caller's own too: B's count only B's write.
    expect(b1.latency.count - b0.latency.count).toBe(1);
    expect(a1.latency.count - a0.latency.count).toBe(3);
    expect(b1.lastOkAt).not.toBeNull();
  });

  /**
   * Every procedure that takes an id, called with A's id and with a random well-formed unknown one:
   * both must fail alike (NOT_FOUND, same field, same message but for the id).
   */
  const byIdCalls = (c: () => RuntraceClient, o: () => Owned) =>
    [
      ['runs.retrieve', (runId: string) => c().runs.retrieve.query({ runId }), () => o().runId, 'run'],
      ['runs.messages', (runId: string) => c().runs.messages.query({ runId }), () => o().runId, 'run'],
      ['runs.usage', (runId: string) => c().runs.usage.query({ runId }), () => o().runId, 'run'],
      ['runs.metrics', (runId: string) => c().runs.metrics.query({ runId }), () => o().runId, 'run'],
      ['runs.steps', (runId: string) => c().runs.steps.query({ runId }), () => o().runId, 'run'],
      [
        'runs.steps with A’s cursor',
        (runId: string) => c().runs.steps.query({ runId, limit: 1, cursor: o().stepsCursor }),
        () => o().runId,
        'run',
      ],
      [
        'runs.messages with A’s cursor',
        (runId: string) => c().runs.messages.query({ runId, limit: 1, cursor: o().messagesCursor }),
        () => o().runId,
        'run',
      ],
      [
        'runs.update (status)',
        (runId: string) => c().runs.update.mutate({ runId, status: 'failed', stopReason: 'error' }),
        () => o().activeRunId,
        'run',
      ],
      [
        'runs.update (metadata)',
        (runId: string) => c().runs.update.mutate({ runId, metadata: { owner: 'B' } }),
        () => o().runId,
        'run',
      ],
      ['runs.cancel', (runId: string) => c().runs.cancel.mutate({ runId }), () => o().activeRunId, 'run'],
      ['runs.delete (ended run)', (runId: string) => c().runs.delete.mutate({ runId }), () => o().runId, 'run'],
      ['runs.delete (running run)', (runId: string) => c().runs.delete.mutate({ runId }), () => o().activeRunId, 'run'],
      [
        'steps.create',
        (runId: string) => c().steps.create.mutate({ runId, promptTokens: 1_000_000 }),
        () => o().activeRunId,
        'run',
      ],
      [
        'messages.create',
        (runId: string) =>
          c().messages.create.mutate({ runId, messages: [{ messageType: 'assistant_message', content: 'from B' }] }),
        () => o().activeRunId,
        'run',
      ],
      ['steps.retrieve', (stepId: string) => c().steps.retrieve.query({ stepId }), () => o().stepId, 'step'],
    ] as const;

  for (const caller of ['org B', 'no key (default org)'] as const) {
    describe(`${caller} with organization A's ids`, () => {
      const client = () => (caller === 'org B' ? b : api.client());

      it.each(byIdCalls(client, () => owned))(
        '%s → NOT_FOUND, the same answer as for an unknown id, and A’s data is unchanged',
        async (_name, call, ownedId, kind) => {
          const before = await snapshot(a, owned);
          const id = ownedId();
          const theirs = await callError(() => call(id));
          const unknown = newId(kind);
          const random = await callError(() => call(unknown));
          expect(theirs).toMatchObject({ code: 'NOT_FOUND', httpStatus: 404, field: `${kind}Id` });
          expect(theirs.message).toContain(id);
          expect(shape(theirs, id)).toEqual(shape(random, unknown));
          expect(await snapshot(a, owned)).toEqual(before);
        },
      );

      it('lists show none of A’s runs, agents or steps', async () => {
        const c = client();
        const runIds = [owned.runId, owned.activeRunId];
        const all = await c.runs.list.query({ limit: 1000 });
        expect(all.items.map((r) => r.id).filter((id) => runIds.includes(id))).toEqual([]);
        expect((await c.runs.list.query({ agentId: owned.agentId })).items).toEqual([]);
        expect(await c.runs.count.query({ agentId: owned.agentId })).toEqual({ count: 0, capped: false });
        expect(
          (await c.runs.list.query({ agentId: owned.agentId, order: 'asc', statuses: ['completed'] })).items,
        ).toEqual([]);
        expect((await c.runs.listActive.query({ agentId: owned.agentId })).items).toEqual([]);
        const active = await c.runs.listActive.query({ limit: 1000 });
        expect(active.items.map((r) => r.id)).not.toContain(owned.activeRunId);
        const agents = await c.agents.list.query({ limit: 1000 });
        expect(agents.items.map((x) => x.id)).not.toContain(owned.agentId);
      });

      it('cannot point its own messages at A’s step: NOT_FOUND, like an unknown step, and nothing written', async () => {
        const c = client();
        const own = await c.runs.create.mutate({ agentId: newId('agent') });
        const before = await snapshot(a, owned);
        const append = (stepId: string) =>
          c.messages.create.mutate({
            runId: own.id,
            messages: [
              { messageType: 'assistant_message', content: 'fine' },
              { messageType: 'assistant_message', content: 'points at a step', stepId },
            ],
          });
        const theirs = await callError(() => append(owned.stepId));
        const unknown = newId('step');
        const random = await callError(() => append(unknown));
        expect(theirs).toMatchObject({ code: 'NOT_FOUND', httpStatus: 404, field: 'messages.1.stepId' });
        expect(shape(theirs, owned.stepId)).toEqual(shape(random, unknown));
        expect((await c.runs.messages.query({ runId: own.id })).items).toEqual([]);
        expect(await snapshot(a, owned)).toEqual(before);
        // Its own step is fine.
        const step = await c.steps.create.mutate({ runId: own.id });
        expect((await append(step.id)).map((m) => m.stepId)).toEqual([null, step.id]);
      });

      it('cannot take over A’s ids by creating with them: CONFLICT, nothing returned, nothing changed', async () => {
        const c = client();
        const before = await snapshot(a, owned);
        const sameContent = await callError(() =>
          c.runs.create.mutate({
            id: owned.runId,
            agentId: owned.agentId,
            metadata: { owner: 'A' },
            requestConfig: { includeReturnMessageTypes: ['assistant_message', 'tool_call_message'] },
          }),
        );
        expect(sameContent).toMatchObject({ code: 'CONFLICT', field: 'id' });
        const own = await c.runs.create.mutate({ agentId: newId('agent') });
        expect(
          await callError(() => c.steps.create.mutate({ id: owned.stepId, runId: own.id, promptTokens: 10 })),
        ).toMatchObject({ code: 'CONFLICT', field: 'id' });
        const msg = await callError(() =>
          c.messages.create.mutate({
            runId: own.id,
            messages: [{ id: owned.messageId, messageType: 'assistant_message', content: 'x' }],
          }),
        );
        expect(msg.code).toBe('CONFLICT');
        expect((await c.runs.messages.query({ runId: own.id })).items).toEqual([]);
        expect((await c.runs.steps.query({ runId: own.id })).items).toEqual([]);
        expect(await snapshot(a, owned)).toEqual(before);
      });

      it('a client-chosen id of A’s gets the answer of an own id with other content, byte for byte', async () => {
        const c = client();
        const key = caller === 'org B' ? bKey : undefined;
        /** The raw HTTP answer of a tRPC mutation, with `id` written as <id> so answers about two ids compare. */
        const post = async (procedure: string, input: unknown, id: string) => {
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (key) headers.authorization = `Bearer ${key}`;
          const res = await fetch(`${api.url}/trpc/${procedure}`, {
            method: 'POST',
            headers,
            body: JSON.stringify(input),
          });
          const body = await res.text();
          expect(body).toContain(id);
          return { status: res.status, body: body.replaceAll(id, '<id>') };
        };
        const before = await snapshot(a, owned);
        const run = await c.runs.create.mutate({ id: newId('run'), agentId: newId('agent'), metadata: { v: 1 } });
        const step = await c.steps.create.mutate({ id: newId('step'), runId: run.id, promptTokens: 1 });
        const [message] = await c.messages.create.mutate({
          runId: run.id,
          messages: [{ id: newId('message'), messageType: 'assistant_message', content: 'mine' }],
        });
        const trace = await c.providerTraces.create.mutate({
          id: newId('providerTrace'),
          requestJson: { q: 1 },
          responseJson: {},
        });
        const aTrace = await a.providerTraces.create.mutate({
          id: newId('providerTrace'),
          requestJson: { q: 'A' },
          responseJson: {},
        });
        const cases = [
          [
            'runs.create',
            (id: string) => ({ id, agentId: run.agentId, metadata: { v: 2 } }),
            run.id,
            owned.runId,
            // A's own content: still no sign of whose id it is
            {
              id: owned.runId,
              agentId: owned.agentId,
              metadata: { owner: 'A' },
              requestConfig: { includeReturnMessageTypes: ['assistant_message', 'tool_call_message'] },
            },
          ],
          [
            'steps.create',
            (id: string) => ({ id, runId: run.id, promptTokens: 2 }),
            step.id,
            owned.stepId,
            { id: owned.stepId, runId: run.id, promptTokens: 10, completionTokens: 0 },
          ],
          [
            'messages.create',
            (id: string) => ({ runId: run.id, messages: [{ id, messageType: 'assistant_message', content: 'other' }] }),
            message!.id,
            owned.messageId,
            {
              runId: run.id,
              messages: [{ id: owned.messageId, messageType: 'tool_call_message', toolCall: { name: 'search' } }],
            },
          ],
          [
            'providerTraces.create',
            (id: string) => ({ id, requestJson: { q: 2 }, responseJson: {} }),
            trace.id,
            aTrace.id,
            { id: aTrace.id, requestJson: { q: 'A' }, responseJson: {} },
          ],
        ] as const;
        for (const [procedure, input, mine, theirs, theirContent] of cases) {
          const own = await post(procedure, input(mine), mine);
          expect(own.status, procedure).toBe(409);
          const body = JSON.parse(own.body) as { error: { message: string; data: { code: string; field: string } } };
          expect(body.error.data, procedure).toMatchObject({
            code: 'CONFLICT',
            field: procedure === 'messages.create' ? 'messages.0.id' : 'id',
          });
          // it says the id is taken, nothing about the object holding it
          expect(body.error.message, procedure).not.toMatch(/exist|content|organi[sz]ation/i);
          expect(await post(procedure, input(theirs), theirs), procedure).toEqual(own);
          expect(await post(procedure, theirContent, theirs), procedure).toEqual(own);
        }
        expect((await c.runs.steps.query({ runId: run.id })).items.map((x) => x.id)).toEqual([step.id]);
        expect((await c.runs.messages.query({ runId: run.id })).items.map((x) => x.id)).toEqual([message!.id]);
        expect(await snapshot(a, owned)).toEqual(before);
        await c.runs.delete.mutate({ runId: run.id });
      });

      it('an agent id shared with A is a separate agent: B’s runs do not touch A’s agent', async () => {
        const c = client();
        const before = await snapshot(a, owned);
        const run = await c.runs.create.mutate({ agentId: owned.agentId });
        await c.runs.update.mutate({ runId: run.id, stopReason: 'llm_api_error' });
        expect((await c.runs.list.query({ agentId: owned.agentId })).items.map((r) => r.id)).toEqual([run.id]);
        const theirs = (await c.agents.list.query({ limit: 1000 })).items.find((x) => x.id === owned.agentId);
        expect(theirs?.lastStopReason).toBe('llm_api_error');
        expect((await a.runs.list.query({ agentId: owned.agentId })).items.map((r) => r.id)).not.toContain(run.id);
        expect(await callError(() => a.runs.retrieve.query({ runId: run.id }))).toMatchObject({ code: 'NOT_FOUND' });
        expect(await snapshot(a, owned)).toEqual(before);
        await c.runs.delete.mutate({ runId: run.id });
      });
    });
  }

  it('A still sees all of its data (the matrix above changed nothing)', async () => {
    const run = await a.runs.retrieve.query({ runId: owned.runId });
    expect(run).toMatchObject({ status: 'completed', stopReason: 'end_turn', metadata: { owner: 'A' } });
    const active = await a.runs.retrieve.query({ runId: owned.activeRunId });
    expect(active).toMatchObject({ status: 'running', stopReason: null, metadata: { owner: 'A', active: true } });
    expect((await a.runs.steps.query({ runId: owned.runId })).items).toHaveLength(3);
    expect((await a.runs.steps.query({ runId: owned.activeRunId })).items).toHaveLength(1);
    expect((await a.runs.messages.query({ runId: owned.runId })).items.map((m) => m.seqId)).toEqual([1, 2, 3]);
    expect((await a.runs.messages.query({ runId: owned.activeRunId })).items).toEqual([]);
    expect((await a.runs.usage.query({ runId: owned.runId })).promptTokens).toBe(30);
    expect((await a.runs.list.query({ agentId: owned.agentId })).items.map((r) => r.id)).toEqual([
      owned.activeRunId,
      owned.runId,
    ]);
    expect((await a.agents.list.query({})).items.map((x) => x.id)).toEqual([owned.agentId]);
  });

  describe('authentication', () => {
    it('refuses an unknown key with UNAUTHORIZED and writes nothing', async () => {
      const before = await api.count('select count(*) from runs');
      const bad = api.client('rt_not-a-real-key');
      for (const call of [
        () => bad.runs.list.query({}),
        () => bad.agents.list.query({}),
        () => bad.runs.retrieve.query({ runId: owned.runId }),
        () => bad.runs.create.mutate({ agentId: newId('agent') }),
      ]) {
        expect(await callError(call)).toMatchObject({ code: 'UNAUTHORIZED', httpStatus: 401 });
      }
      expect(await api.count('select count(*) from runs')).toBe(before);
    });

    it('refuses an Authorization header that is not "Bearer <key>"', async () => {
      for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', 'rt_abc']) {
        const c = createRuntraceClient({ url: api.url, headers: { authorization } });
        expect(await callError(() => c.runs.list.query({}))).toMatchObject({ code: 'UNAUTHORIZED', httpStatus: 401 });
      }
    });

    it('refuses a revoked key, while another key of the same organization keeps working', async () => {
      const org = await api.runtime.auth.createOrganization('revoking');
      const doomed = await api.runtime.auth.createApiKey(org.id, 'doomed');
      const kept = await api.runtime.auth.createApiKey(org.id, 'kept');
      const c = api.client(doomed.key);
      const run = await c.runs.create.mutate({ agentId: newId('agent') });
      await api.runtime.auth.revokeApiKey(doomed.id);
      expect(await callError(() => c.runs.retrieve.query({ runId: run.id }))).toMatchObject({
        code: 'UNAUTHORIZED',
        httpStatus: 401,
      });
      expect(await callError(() => c.runs.cancel.mutate({ runId: run.id }))).toMatchObject({ code: 'UNAUTHORIZED' });
      const other = api.client(kept.key);
      expect(await other.runs.retrieve.query({ runId: run.id })).toMatchObject({ id: run.id, status: 'created' });
    });

    it('does not say whether a key exists: unknown and revoked keys get the same answer', async () => {
      const org = await api.runtime.auth.createOrganization('same answer');
      const key = await api.runtime.auth.createApiKey(org.id, 'k');
      await api.runtime.auth.revokeApiKey(key.id);
      const revoked = await callError(() => api.client(key.key).runs.list.query({}));
      const unknown = await callError(() => api.client('rt_unknown').runs.list.query({}));
      expect({ ...revoked, stack: undefined }).toEqual({ ...unknown, stack: undefined });
    });
  });
});

describe.each(databaseTargets())('RUNTRACE_AUTH=required over HTTP ($name)', (target) => {
  let api: TestApi;
  let key: string;

  beforeAll(async () => {
    api = await startApi(target, { RUNTRACE_AUTH: 'required' });
    const org = await api.runtime.auth.createOrganization('required');
    key = (await api.runtime.auth.createApiKey(org.id, 'k')).key;
  });
  afterAll(async () => {
    await api?.close();
  });

  it('refuses every procedure without a key, before looking at the input', async () => {
    const c = api.client();
    const runId = newId('run');
    const calls = [
      () => c.runs.list.query({}),
      () => c.runs.count.query({}),
      () => c.runs.listActive.query({}),
      () => c.runs.retrieve.query({ runId }),
      () => c.runs.messages.query({ runId }),
      () => c.runs.usage.query({ runId }),
      () => c.runs.metrics.query({ runId }),
      () => c.runs.steps.query({ runId }),
      () => c.runs.create.mutate({ agentId: newId('agent') }),
      () => c.runs.update.mutate({ runId, status: 'running' }),
      () => c.runs.cancel.mutate({ runId }),
      () => c.runs.delete.mutate({ runId }),
      () => c.steps.create.mutate({ runId }),
      () => c.steps.retrieve.query({ stepId: newId('step') }),
      () => c.messages.create.mutate({ runId, messages: [{ messageType: 'assistant_message', content: 'x' }] }),
      () => c.agents.list.query({}),
      () => c.runs.retrieve.query({ runId: 'not-an-id' }),
    ];
    for (const call of calls) {
      const err = await callError(call);
      expect(err).toMatchObject({ code: 'UNAUTHORIZED', httpStatus: 401 });
      expect(err.message).toMatch(/API key is required/);
    }
    expect(await api.count('select count(*) from runs')).toBe(0);
  });

  it('serves a valid key', async () => {
    const c = api.client(key);
    const run = await c.runs.create.mutate({ agentId: newId('agent') });
    expect((await c.runs.list.query({})).items.map((r) => r.id)).toEqual([run.id]);
  });

  it('still answers /healthz without a key', async () => {
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
  });
});
