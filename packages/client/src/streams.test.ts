import { NotFound, Unavailable } from '@runtrace/core';
import { databaseTargets, newId, streamTargets } from '@runtrace/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RuntraceClient } from './create-runtrace-client.ts';
import { startApi, type TestApi } from './testing/start-api.ts';
import { codeOf, sleep, until, watchChanges, watchStream } from './testing/streams.ts';
import type { RunEvent, RunEventInput } from './types.ts';

/** Fast reconnects, so that forced disconnects cost milliseconds, not the EventSource's default 3 s. */
const RECONNECT_MS = 20;
/** The server's keepalive interval for `includePings` in these suites. */
const KEEPALIVE_MS = 100;

const targets = databaseTargets().flatMap((db) =>
  streamTargets().map((stream) => ({ db, stream, name: `${db.name}, ${stream.name}` })),
);

/** The SSE requests the server received for a run (the first connection and every reconnection). */
const requestsFor = (api: TestApi, runId: string) => api.sseRequests.filter((r) => r.url.includes(runId));

const assistant = (id: string, content: string): RunEventInput => ({ messageType: 'assistant_message', id, content });

describe.each(targets)('live run streams over HTTP ($name)', ({ db, stream }) => {
  let api: TestApi;
  let client: RuntraceClient;
  let otherOrg: RuntraceClient;
  /** An organization of this suite's own: with Redis, run changes cross processes, and other suites use the default one. */
  let ownOrg: RuntraceClient;

  beforeAll(async () => {
    api = await startApi(db, { ...stream.env }, { streamKeepaliveMs: KEEPALIVE_MS });
    client = api.client(undefined, { reconnectDelayMs: RECONNECT_MS });
    const org = await api.runtime.auth.createOrganization('other org');
    otherOrg = api.client((await api.runtime.auth.createApiKey(org.id, 'k')).key, { reconnectDelayMs: RECONNECT_MS });
    const own = await api.runtime.auth.createOrganization('own org');
    ownOrg = api.client((await api.runtime.auth.createApiKey(own.id, 'k')).key, { reconnectDelayMs: RECONNECT_MS });
  });
  afterAll(async () => {
    await api?.close();
  });

  const backgroundRun = async (c: RuntraceClient = client) => {
    const run = await c.runs.create.mutate({ agentId: newId('agent'), background: true });
    await c.runs.update.mutate({ runId: run.id, status: 'running' });
    return run;
  };

  it('uses the configured stream store', () => {
    expect(api.runtime.streams.kind).toBe(stream.name);
  });

  it('streams token chunks, tool calls and the stop reason live, then ends', async () => {
    const run = await backgroundRun();
    const w = watchStream(client, { runId: run.id });
    await until('the subscription to start', () => w.started > 0);
    const reasoningId = newId('message');
    const replyId = newId('message');
    await client.runs.appendEvents.mutate({
      runId: run.id,
      events: ['The user ', 'wants the ', 'weather.'].map((reasoning) => ({
        messageType: 'reasoning_message' as const,
        id: reasoningId,
        reasoning,
      })),
    });
    await until('the reasoning chunks', () => w.events().length === 3);
    expect(w.completed).toBe(false);
    await client.runs.appendEvents.mutate({
      runId: run.id,
      events: [
        {
          messageType: 'tool_call_message',
          id: newId('message'),
          toolCall: { name: 'web_search', arguments: '{"q":"weather"}', toolCallId: 'call_1' },
        },
        {
          messageType: 'tool_return_message',
          id: newId('message'),
          toolReturn: '{"temp":21}',
          status: 'success',
          toolCallId: 'call_1',
        },
      ],
    });
    for (const chunk of ['It is ', '21 °C ', 'and sunny.']) {
      await client.runs.appendEvents.mutate({ runId: run.id, events: [assistant(replyId, chunk)] });
    }
    const ended = await client.runs.appendEvents.mutate({
      runId: run.id,
      events: [
        { messageType: 'stop_reason', stopReason: 'end_turn' },
        { messageType: 'usage_statistics', promptTokens: 120, completionTokens: 30, totalTokens: 150, stepCount: 2 },
      ],
      end: true,
    });
    expect(ended.ended).toBe(true);
    await w.done;
    expect(w.error).toBeNull();
    expect(w.completed).toBe(true);
    const events = w.events();
    expect(events.map((e) => e.data.messageType)).toEqual([
      'reasoning_message',
      'reasoning_message',
      'reasoning_message',
      'tool_call_message',
      'tool_return_message',
      'assistant_message',
      'assistant_message',
      'assistant_message',
      'stop_reason',
      'usage_statistics',
    ]);
    const epoch = events[0]?.id.split(':')[0];
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => `${epoch}:${i + 1}`));
    expect(events.map((e) => e.data.seqId)).toEqual(events.map((_, i) => i + 1));
    expect(new Set(events.map((e) => e.data.runId))).toEqual(new Set([run.id]));
    expect(
      events
        .map((e) => e.data)
        .filter((e) => e.messageType === 'assistant_message')
        .map((e) => e.content)
        .join(''),
    ).toBe('It is 21 °C and sunny.');
    expect(ended.ids).toEqual([`${epoch}:9`, `${epoch}:10`]);
    expect(w.pings()).toEqual([]);
    expect(await client.runs.retrieve.query({ runId: run.id })).toMatchObject({
      status: 'completed',
      stopReason: 'end_turn',
    });
  });

  it('speaks SSE on the wire: the client config first, each event with its id, errors as serialized-error', async () => {
    const run = await backgroundRun();
    const { ids } = await client.runs.appendEvents.mutate({
      runId: run.id,
      events: [assistant('m', 'Hello'), { messageType: 'stop_reason', stopReason: 'end_turn' }],
      end: true,
    });
    const read = async (input: Record<string, unknown>) => {
      const res = await fetch(`${api.url}/trpc/runs.stream?input=${encodeURIComponent(JSON.stringify(input))}`, {
        headers: { accept: 'text/event-stream' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      // Each message ends with a blank line (tRPC adds another one); frames are the messages without them.
      return (await res.text()).split(/\n{2,}/).filter(Boolean);
    };
    const frames = await read({ runId: run.id });
    expect(frames[0]).toBe('event: connected\ndata: {"reconnectAfterInactivityMs":25000}');
    expect(frames[1]).toBe(
      `data: ${JSON.stringify({ messageType: 'assistant_message', id: 'm', content: 'Hello', runId: run.id, seqId: 1 })}\nid: ${ids[0]}`,
    );
    expect(frames[2]).toMatch(new RegExp(`^data: \\{"messageType":"stop_reason".*\\nid: ${ids[1]}$`));
    expect(frames[3]).toBe('event: return\ndata: ');

    const notBackground = await client.runs.create.mutate({ agentId: newId('agent') });
    const [connected, error] = await read({ runId: notBackground.id });
    expect(connected).toMatch(/^event: connected/);
    expect(error).toMatch(/^event: serialized-error\ndata: /);
    const shape = JSON.parse((error as string).split('data: ')[1] as string) as { data: Record<string, unknown> };
    expect(shape.data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400, field: 'runId' });
  });

  it('replays an ended stream after startingAfter; lastEventId wins over startingAfter', async () => {
    const run = await backgroundRun();
    const { ids } = await client.runs.appendEvents.mutate({
      runId: run.id,
      events: [
        ...Array.from({ length: 5 }, (_, i) => assistant('m', String(i + 1))),
        { messageType: 'stop_reason', stopReason: 'end_turn' },
      ],
      end: true,
    });
    const all = watchStream(client, { runId: run.id });
    await all.done;
    expect(all.events().map((e) => e.id)).toEqual(ids);

    const after3 = watchStream(client, { runId: run.id, startingAfter: 3 });
    await after3.done;
    expect(after3.events().map((e) => e.data.seqId)).toEqual([4, 5, 6]);

    const resumed = watchStream(client, { runId: run.id, startingAfter: 1, lastEventId: ids[4] });
    await resumed.done;
    expect(resumed.events().map((e) => e.id)).toEqual([ids[5]]);
    expect(resumed.completed).toBe(true);
  });

  it('resumes exactly after 20 dropped connections during a 2,000-event run', async () => {
    const run = await backgroundRun();
    const w = watchStream(client, { runId: run.id });
    await until('the subscription to start', () => w.started > 0);
    let drops = 0;
    const messageId = newId('message');
    for (let batch = 0; batch < 100; batch++) {
      await client.runs.appendEvents.mutate({
        runId: run.id,
        events: Array.from({ length: 20 }, (_, i) => assistant(messageId, String(batch * 20 + i + 1))),
      });
      if (batch % 5 === 2) {
        // Drop while this batch is being delivered; wait for the reconnection first, so each drop hits a live stream.
        await until('a connected stream to drop', () => api.openStreams() > 0);
        drops += api.dropStreams();
      }
    }
    await client.runs.appendEvents.mutate({
      runId: run.id,
      events: [{ messageType: 'stop_reason', stopReason: 'end_turn' }],
      end: true,
    });
    await w.done;
    expect(w.error).toBeNull();
    expect(drops).toBe(20);
    const events = w.events();
    expect(events).toHaveLength(2001);
    expect(events.map((e) => e.data.seqId)).toEqual(Array.from({ length: 2001 }, (_, i) => i + 1));
    expect(
      events.slice(0, 2000).map((e) => (e.data.messageType === 'assistant_message' ? e.data.content : null)),
    ).toEqual(Array.from({ length: 2000 }, (_, i) => String(i + 1)));
    expect(events.at(-1)?.data).toMatchObject({ messageType: 'stop_reason', stopReason: 'end_turn' });
    // Every reconnection asked to resume after the last event the client had.
    const requests = requestsFor(api, run.id);
    expect(requests.length).toBeGreaterThanOrEqual(21);
    expect(requests.slice(1).every((r) => r.lastEventId && /^[0-9a-z]+:\d+$/.test(r.lastEventId))).toBe(true);
    expect(w.reconnects).toBeGreaterThanOrEqual(20);
  });

  it('ends with stop_reason cancelled within 1 s when the run is cancelled while streaming', async () => {
    const run = await backgroundRun();
    const w = watchStream(client, { runId: run.id });
    await client.runs.appendEvents.mutate({ runId: run.id, events: [assistant('m', 'Working on it')] });
    await until('the first event', () => w.events().length === 1);
    const t0 = performance.now();
    await client.runs.cancel.mutate({ runId: run.id });
    await w.done;
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(w.completed).toBe(true);
    expect(w.events().map((e) => e.data)).toEqual([
      expect.objectContaining({ messageType: 'assistant_message' }),
      expect.objectContaining({ messageType: 'stop_reason', stopReason: 'cancelled' }),
    ]);
  });

  it('refuses a run that is not background with BAD_REQUEST, and the client does not retry', async () => {
    const run = await client.runs.create.mutate({ agentId: newId('agent') });
    const w = watchStream(client, { runId: run.id });
    await w.done;
    expect(codeOf(w.error)).toBe('BAD_REQUEST');
    expect(w.error?.message).toMatch(/not created in background mode/);
    await sleep(RECONNECT_MS * 15);
    expect(requestsFor(api, run.id)).toHaveLength(1);
  });

  it('answers NOT_FOUND for an unknown run and for another organization’s run, without retrying', async () => {
    const unknown = newId('run');
    const w = watchStream(client, { runId: unknown });
    await w.done;
    expect(codeOf(w.error)).toBe('NOT_FOUND');

    const run = await backgroundRun();
    const foreign = watchStream(otherOrg, { runId: run.id });
    await foreign.done;
    expect(codeOf(foreign.error)).toBe('NOT_FOUND');
    expect(foreign.error?.message).toBe(w.error?.message.replace(unknown, run.id));
    await sleep(RECONNECT_MS * 15);
    expect(requestsFor(api, unknown)).toHaveLength(1);
    expect(requestsFor(api, run.id)).toHaveLength(1);
  });

  it('answers BAD_REQUEST naming lastEventId for a malformed one, and a clear NOT_FOUND for a lost stream’s cursor', async () => {
    const run = await backgroundRun();
    await client.runs.appendEvents.mutate({ runId: run.id, events: [assistant('m', 'hi')] });
    const malformed = watchStream(client, { runId: run.id, lastEventId: 'not-an-id' });
    await malformed.done;
    expect(codeOf(malformed.error)).toBe('BAD_REQUEST');
    expect((malformed.error?.data as { field?: string } | undefined)?.field).toBe('lastEventId');

    const lost = watchStream(client, { runId: run.id, lastEventId: 'zzzzzzzz:1' });
    await lost.done;
    expect(codeOf(lost.error)).toBe('NOT_FOUND');
    expect(lost.error?.message).toMatch(/lost/);
    await sleep(RECONNECT_MS * 15);
    expect(requestsFor(api, run.id)).toHaveLength(2);
  });

  it('sends untracked pings while the run is quiet when includePings, and resumes by events only', async () => {
    const run = await backgroundRun();
    const quiet = watchStream(client, { runId: run.id });
    const w = watchStream(client, { runId: run.id, includePings: true });
    await client.runs.appendEvents.mutate({ runId: run.id, events: [assistant('m', 'a')] });
    await until('three pings', () => w.pings().length >= 3, 15_000);
    expect(w.pings()[0]).toEqual({ messageType: 'ping' });
    // A ping moves no cursor: after a dropped connection the stream resumes after the last event.
    api.dropStreams();
    await client.runs.appendEvents.mutate({
      runId: run.id,
      events: [assistant('m', 'b'), { messageType: 'stop_reason', stopReason: 'end_turn' }],
      end: true,
    });
    await Promise.all([w.done, quiet.done]);
    expect(w.events().map((e) => e.data.seqId)).toEqual([1, 2, 3]);
    expect(quiet.events().map((e) => e.data.seqId)).toEqual([1, 2, 3]);
    expect(quiet.pings()).toEqual([]);
    const resumed = requestsFor(api, run.id).filter((r) => r.lastEventId);
    expect(resumed.map((r) => r.lastEventId)).toEqual(expect.arrayContaining([w.events()[0]?.id]));
  });

  it('releases the reader as soon as the subscriber leaves', async () => {
    const run = await backgroundRun();
    const w = watchStream(client, { runId: run.id });
    await client.runs.appendEvents.mutate({ runId: run.id, events: [assistant('m', 'a')] });
    await until('the first event', () => w.events().length === 1);
    expect(api.openStreams()).toBeGreaterThan(0);
    w.unsubscribe();
    await until(
      'the server to close the stream',
      () => requestsFor(api, run.id).length === 1 && api.openStreams() === 0,
      5000,
    );
  });

  it('delivers runs.changes of the caller’s organization only', async () => {
    const mine = watchChanges(ownOrg);
    const theirs = watchChanges(otherOrg);
    await until('both change feeds to start', () => mine.started > 0 && theirs.started > 0);
    // The feed is live only: give the server a moment to attach the subscriptions before the first change.
    await sleep(100);
    const agentId = newId('agent');
    const run = await ownOrg.runs.create.mutate({ agentId, background: true });
    await ownOrg.runs.update.mutate({ runId: run.id, status: 'running' });
    await ownOrg.runs.update.mutate({ runId: run.id, metadata: { note: 'not a status change' } });
    await ownOrg.runs.update.mutate({ runId: run.id, stopReason: 'end_turn' });
    const foreign = await otherOrg.runs.create.mutate({ agentId: newId('agent') });
    await until('three changes of my run', () => mine.values.length >= 3);
    await until('one change of theirs', () => theirs.values.length >= 1);
    await sleep(100);
    expect(mine.values.map((c) => [c.type, c.run.id, c.previousStatus, c.run.status])).toEqual([
      ['created', run.id, null, 'created'],
      ['status_changed', run.id, 'created', 'running'],
      ['status_changed', run.id, 'running', 'completed'],
    ]);
    expect(theirs.values.map((c) => [c.type, c.run.id])).toEqual([['created', foreign.id]]);
    mine.unsubscribe();
    theirs.unsubscribe();
  });

  it('filters runs.changes by agent', async () => {
    const agentId = newId('agent');
    const w = watchChanges(client, { agentId });
    await until('the feed to start', () => w.started > 0);
    await sleep(100);
    await client.runs.create.mutate({ agentId: newId('agent') });
    const run = await client.runs.create.mutate({ agentId });
    await until('the change', () => w.values.length >= 1);
    await sleep(100);
    expect(w.values.map((c) => c.run.id)).toEqual([run.id]);
    w.unsubscribe();
  });

  it('answers runs.appendEvents in every shape of tRPC’s HTTP protocol (its direct route, or tRPC’s for the rest)', async () => {
    const run = await backgroundRun();
    const post = (query: string, body: string, headers: Record<string, string> = {}) =>
      fetch(`${api.url}/trpc/${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    const events = [assistant('m', 'a')];
    // Batched, as httpBatchLink sends it.
    const batched = await post('runs.appendEvents?batch=1', JSON.stringify({ 0: { runId: run.id, events } }));
    expect(batched.status).toBe(200);
    expect(batched.headers.get('content-type')).toMatch(/application\/json/);
    expect(await batched.json()).toEqual([{ result: { data: { ids: [expect.stringMatching(/:1$/)], ended: false } } }]);
    // Not batched, as httpLink sends it.
    const single = await post('runs.appendEvents', JSON.stringify({ runId: run.id, events }));
    expect(await single.json()).toEqual({ result: { data: { ids: [expect.stringMatching(/:2$/)], ended: false } } });
    // Two calls in one batch: tRPC's handler.
    const two = await post(
      'runs.appendEvents,runs.appendEvents?batch=1',
      JSON.stringify({ 0: { runId: run.id, events }, 1: { runId: run.id, events } }),
    );
    expect(((await two.json()) as unknown[]).length).toBe(2);
    // Errors: the same shapes and statuses as through tRPC.
    const unknownKey = await post(
      'runs.appendEvents?batch=1',
      JSON.stringify({ 0: { runId: run.id, events, nope: 1 } }),
    );
    expect(unknownKey.status).toBe(400);
    expect(await unknownKey.json()).toEqual([
      {
        error: expect.objectContaining({
          data: expect.objectContaining({
            code: 'BAD_REQUEST',
            httpStatus: 400,
            field: 'nope',
            path: 'runs.appendEvents',
          }),
        }),
      },
    ]);
    const nul = await post(
      'runs.appendEvents?batch=1',
      JSON.stringify({ 0: { runId: run.id, events: [assistant('m', 'a\u0000b')] } }),
    );
    expect(nul.status).toBe(400);
    const notJson = await post('runs.appendEvents?batch=1', '{"0":');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { data: { code: string } } }[])[0]?.error.data.code).toBe('BAD_REQUEST');
    const unknownRun = await post('runs.appendEvents?batch=1', JSON.stringify({ 0: { runId: newId('run'), events } }));
    expect(unknownRun.status).toBe(404);
    await client.runs.appendEvents.mutate({
      runId: run.id,
      events: [{ messageType: 'stop_reason', stopReason: 'end_turn' }],
      end: true,
    });
    const afterEnd = await post('runs.appendEvents', JSON.stringify({ runId: run.id, events }));
    expect(afterEnd.status).toBe(409);
    expect(((await afterEnd.json()) as { error: { data: { code: string } } }).error.data.code).toBe('CONFLICT');
  });

  it('appends with the 32 MiB body limit and refuses more than 1,000 events per call', async () => {
    const run = await backgroundRun();
    const big = 'x'.repeat(2 * 1024 * 1024);
    const { ids } = await client.runs.appendEvents.mutate({ runId: run.id, events: [assistant('m', big)] });
    expect(ids).toHaveLength(1);
    await expect(
      client.runs.appendEvents.mutate({
        runId: run.id,
        events: Array.from({ length: 1001 }, () => assistant('m', '.')),
      }),
    ).rejects.toMatchObject({ data: { code: 'BAD_REQUEST', field: 'events' } });
  });
});

describe('errors thrown while a subscription streams (pglite, memory, production mode)', () => {
  let api: TestApi;
  let client: RuntraceClient;

  beforeAll(async () => {
    api = await startApi(databaseTargets()[0] as (typeof targets)[number]['db'], { NODE_ENV: 'production' });
    client = api.client(undefined, { reconnectDelayMs: RECONNECT_MS });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await api?.close();
  });

  type Item = { kind: 'event'; id: string; event: RunEvent };
  const fakeEvent = (runId: string, n: number): Item => ({
    kind: 'event',
    id: `e0:${n}`,
    event: { messageType: 'assistant_message', content: `attempt ${n}`, runId, seqId: n },
  });

  /**
   * Subscription attempt n yields `event(n)`, then fails with `fail(n)` (a stand-in for a store failing mid-stream);
   * when `fail(n)` is null, the real store serves it.
   */
  const failingAfterOneEvent = (fail: (attempt: number) => Error | null, event: (attempt: number) => Item) => {
    let attempt = 0;
    const original = api.runtime.streams.subscribe.bind(api.runtime.streams);
    vi.spyOn(api.runtime.streams, 'subscribe').mockImplementation(async (actor, input) => {
      const n = ++attempt;
      const error = fail(n);
      if (!error) return original(actor, input);
      return (async function* () {
        yield event(n);
        throw error;
      })();
    });
  };

  it('maps a domain error to its code (NOT_FOUND), not INTERNAL_SERVER_ERROR, and does not retry', async () => {
    const run = await client.runs.create.mutate({ agentId: newId('agent'), background: true });
    failingAfterOneEvent(
      () => new NotFound('The stream went away', { field: 'runId' }),
      (n) => fakeEvent(run.id, n),
    );
    const w = watchStream(client, { runId: run.id });
    await w.done;
    expect(w.events()).toHaveLength(1);
    expect(codeOf(w.error)).toBe('NOT_FOUND');
    expect(w.error?.message).toBe('The stream went away');
    await sleep(RECONNECT_MS * 15);
    expect(requestsFor(api, run.id)).toHaveLength(1);
  });

  it('answers a bug with a generic INTERNAL_SERVER_ERROR and the client stops instead of reconnecting forever', async () => {
    const run = await client.runs.create.mutate({ agentId: newId('agent'), background: true });
    failingAfterOneEvent(
      () => new TypeError('cannot read properties of undefined (reading "seq")'),
      (n) => fakeEvent(run.id, n),
    );
    const w = watchStream(client, { runId: run.id });
    await w.done;
    expect(codeOf(w.error)).toBe('INTERNAL_SERVER_ERROR');
    expect(w.error?.message).toBe('Internal server error');
    expect(w.error?.data).not.toHaveProperty('stack');
    await sleep(RECONNECT_MS * 15);
    expect(requestsFor(api, run.id)).toHaveLength(1);
  });

  it('retries SERVICE_UNAVAILABLE, resuming after the last event received', async () => {
    const run = await client.runs.create.mutate({ agentId: newId('agent'), background: true });
    const { ids } = await client.runs.appendEvents.mutate({
      runId: run.id,
      events: [assistant('m', '1'), assistant('m', '2'), { messageType: 'stop_reason', stopReason: 'end_turn' }],
      end: true,
    });
    const all = watchStream(client, { runId: run.id });
    await all.done;
    const real = all.events();
    // Attempts 1 and 2 deliver the run's event 1 and 2, then fail as a store that went down; attempt 3 is the store.
    failingAfterOneEvent(
      (attempt) => (attempt <= 2 ? new Unavailable('Redis is down') : null),
      (n) => ({ kind: 'event', id: real[n - 1]?.id as string, event: real[n - 1]?.data as RunEvent }),
    );
    const w = watchStream(client, { runId: run.id });
    await w.done;
    expect(w.error).toBeNull();
    expect(w.completed).toBe(true);
    expect(w.reconnects).toBeGreaterThanOrEqual(2);
    expect(w.events().map((e) => e.id)).toEqual(ids);
    expect(
      requestsFor(api, run.id)
        .slice(-3)
        .map((r) => r.lastEventId),
    ).toEqual([undefined, ids[0], ids[1]]);
  });
});
