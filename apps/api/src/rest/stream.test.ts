/**
 * `POST /v1/runs/{run_id}/stream` against letta-behavior §11.9: Letta's SSE chunks (compact JSON, seq_id and run_id
 * filled in), resume with starting_after, `data: [DONE]` once at the end, the cancelled stop reason, LettaPing
 * keepalives, an empty body meaning the defaults, headers sent at once; on both databases and both stream stores.
 */
import { newId } from '@runtrace/core';
import type { Run } from '@runtrace/core/runs';
import { databaseTargets, streamTargets } from '@runtrace/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RestApi, startRestApi } from './test-helpers.ts';

interface Chunk {
  event: string | null;
  data: string;
}

/** The SSE chunks of a response as they arrive (each `event:`/`data:` block up to its blank line). */
async function* chunks(res: Response): AsyncGenerator<Chunk> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event: string | null = null;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      yield { event, data: data.join('\n') };
      end = buffer.indexOf('\n\n');
    }
  }
  expect(buffer).toBe('');
}

const PING =
  /^\{"id":"ping-[0-9a-f-]{36}","date":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00","name":null,"message_type":"ping","otid":null,"sender_id":null,"step_id":null,"is_err":null,"seq_id":(null|\d+),"run_id":"run-[0-9a-f-]{36}"\}$/;

const combos = databaseTargets().flatMap((db) =>
  streamTargets().map((stream) => ({ db, stream, name: `${db.name} + ${stream.name}` })),
);

describe.each(combos)('Letta stream replay on $name', ({ db, stream }) => {
  const until = async (check: () => boolean, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  let api: RestApi;

  beforeAll(async () => {
    api = await startRestApi(db, stream.env, { streamKeepaliveMs: 150 });
  });
  afterAll(async () => {
    await api?.close();
  });

  const open = (
    runId: string,
    body?: string,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ) =>
    fetch(`${api.url}/v1/runs/${runId}/stream`, { method: 'POST', headers: body === undefined ? {} : headers, body });

  async function finishedRun(): Promise<Run> {
    const run = await api.mutate<Run>('runs.create', { agentId: newId('agent'), background: true });
    const messageId = newId('message');
    await api.mutate('runs.appendEvents', {
      runId: run.id,
      events: [
        { messageType: 'reasoning_message', id: newId('message'), reasoning: 'Let me think: "quotes", unicode é' },
        { messageType: 'assistant_message', id: messageId, content: 'Hel' },
        { messageType: 'assistant_message', id: messageId, content: 'lo' },
        {
          messageType: 'tool_call_message',
          id: newId('message'),
          toolCall: { name: 'f', arguments: '{"a":1}', toolCallId: 'c1' },
        },
      ],
    });
    await api.mutate('runs.appendEvents', {
      runId: run.id,
      events: [
        { messageType: 'stop_reason', stopReason: 'end_turn' },
        { messageType: 'usage_statistics', promptTokens: 3, completionTokens: 2, totalTokens: 5, stepCount: 1 },
      ],
      end: true,
    });
    return run;
  }

  it('replays every event as `data: <compact JSON>` with seq_id and run_id, then `data: [DONE]` once', async () => {
    const run = await finishedRun();
    const res = await open(run.id, '{}');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const got: Chunk[] = [];
    for await (const c of chunks(res)) got.push(c);
    expect(got.map((c) => c.event)).toEqual([null, null, null, null, null, null, null]);
    expect(got[got.length - 1]?.data).toBe('[DONE]');
    const events = got.slice(0, -1).map((c) => {
      expect(JSON.stringify(JSON.parse(c.data))).toBe(c.data); // compact
      return JSON.parse(c.data) as Record<string, unknown>;
    });
    expect(events.map((e) => [e.message_type, e.seq_id, e.run_id])).toEqual([
      ['reasoning_message', 1, run.id],
      ['assistant_message', 2, run.id],
      ['assistant_message', 3, run.id],
      ['tool_call_message', 4, run.id],
      ['stop_reason', 5, run.id],
      ['usage_statistics', 6, run.id],
    ]);
    expect(events[0]).toMatchObject({
      reasoning: 'Let me think: "quotes", unicode é',
      otid: null,
      step_id: null,
      is_err: null,
    });
    expect(events[2]).toMatchObject({ content: 'lo', id: events[1]?.id });
    expect(events[3]).toMatchObject({ tool_call: { name: 'f', arguments: '{"a":1}', tool_call_id: 'c1' } });
    expect(events[4]).toMatchObject({ stop_reason: 'end_turn' });
    expect(events[5]).toMatchObject({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5, step_count: 1 });
  });

  it('resumes after starting_after; at the head only [DONE] remains', async () => {
    const run = await finishedRun();
    const seqs = async (body: string) => {
      const out: (number | string)[] = [];
      for await (const c of chunks(await open(run.id, body))) {
        out.push(c.data === '[DONE]' ? c.data : (JSON.parse(c.data) as { seq_id: number }).seq_id);
      }
      return out;
    };
    expect(await seqs('{"starting_after":3}')).toEqual([4, 5, 6, '[DONE]']);
    expect(await seqs('{"starting_after":6,"batch_size":1}')).toEqual(['[DONE]']);
    expect(await seqs('{"starting_after":0,"batch_size":1,"poll_interval":0.5}')).toEqual([1, 2, 3, 4, 5, 6, '[DONE]']);
  });

  it('an empty body (none, or an empty JSON body) means the defaults', async () => {
    const run = await finishedRun();
    for (const res of [await open(run.id), await open(run.id, ''), await open(run.id, '  ')]) {
      expect(res.status).toBe(200);
      const got: string[] = [];
      for await (const c of chunks(res)) got.push(c.data);
      expect(got).toHaveLength(7);
      expect(got[6]).toBe('[DONE]');
    }
  });

  it('follows a live run: headers at once, LettaPing keepalives with the last seq_id, then the cancelled stop reason and [DONE]', async () => {
    const run = await api.mutate<Run>('runs.create', { agentId: newId('agent'), background: true });
    const res = await open(run.id, '{}');
    expect(res.status).toBe(200);
    const it = chunks(res);
    const next = async () => (await it.next()).value as Chunk;
    const first = await next();
    expect(first.data).toMatch(PING);
    expect(JSON.parse(first.data)).toMatchObject({ seq_id: null, run_id: run.id });
    await api.mutate('runs.appendEvents', {
      runId: run.id,
      events: [{ messageType: 'assistant_message', id: newId('message'), content: 'working' }],
    });
    let chunk = await next();
    while (PING.test(chunk.data)) chunk = await next();
    expect(JSON.parse(chunk.data)).toMatchObject({ message_type: 'assistant_message', seq_id: 1, run_id: run.id });
    chunk = await next();
    expect(chunk.data).toMatch(PING);
    expect(JSON.parse(chunk.data)).toMatchObject({ seq_id: 1 });
    await api.mutate('runs.cancel', { runId: run.id });
    chunk = await next();
    while (PING.test(chunk.data)) chunk = await next();
    expect(JSON.parse(chunk.data)).toEqual({
      message_type: 'stop_reason',
      stop_reason: 'cancelled',
      run_id: run.id,
      seq_id: 2,
    });
    expect((await next()).data).toBe('[DONE]');
    expect((await it.next()).done).toBe(true);
    // replaying the cancelled run gives the whole stream, not a truncated one
    const replay: string[] = [];
    for await (const c of chunks(await open(run.id, '{"include_pings":false}'))) replay.push(c.data);
    expect(replay.map((d) => (d === '[DONE]' ? d : (JSON.parse(d) as { message_type: string }).message_type))).toEqual([
      'assistant_message',
      'stop_reason',
      '[DONE]',
    ]);
  });

  it('without include_pings a quiet stream sends nothing (but its headers), until the run ends', async () => {
    const run = await api.mutate<Run>('runs.create', { agentId: newId('agent'), background: true });
    const res = await open(run.id, '{"include_pings":false}');
    expect(res.status).toBe(200);
    const it = chunks(res);
    const pending = it.next();
    const early = await Promise.race([
      pending.then(() => 'chunk'),
      new Promise((r) => setTimeout(() => r('quiet'), 700)),
    ]);
    expect(early).toBe('quiet');
    await api.mutate('runs.update', { runId: run.id, status: 'completed', stopReason: 'end_turn' });
    expect(JSON.parse(((await pending).value as Chunk).data)).toMatchObject({
      message_type: 'stop_reason',
      stop_reason: 'end_turn',
    });
    expect(((await it.next()).value as Chunk).data).toBe('[DONE]');
  });

  it("an error_message is sent as Letta's `event: error` (its client raises it)", async () => {
    const run = await api.mutate<Run>('runs.create', { agentId: newId('agent'), background: true });
    await api.mutate('runs.appendEvents', {
      runId: run.id,
      events: [
        { messageType: 'stop_reason', stopReason: 'llm_api_error' },
        { messageType: 'error_message', errorType: 'llm_error', message: 'the provider failed', detail: 'HTTP 500' },
      ],
      end: true,
    });
    const got: Chunk[] = [];
    for await (const c of chunks(await open(run.id, '{}'))) got.push(c);
    expect(got.map((c) => c.event)).toEqual([null, 'error', null]);
    expect(JSON.parse(got[1]!.data)).toMatchObject({
      message_type: 'error_message',
      error_type: 'llm_error',
      message: 'the provider failed',
      detail: 'HTTP 500',
      run_id: run.id,
      seq_id: 2,
    });
    const stream = await api.letta().runs.messages.stream(run.id, {});
    const seen: unknown[] = [];
    await expect(
      (async () => {
        for await (const e of stream) seen.push(e);
      })(),
    ).rejects.toMatchObject({ error: { error_type: 'llm_error' } });
    expect(seen).toMatchObject([{ message_type: 'stop_reason', stop_reason: 'llm_api_error' }]);
  });

  it('a client that leaves releases its reader; a shutdown ends open replays without [DONE] (the client resumes)', async () => {
    const run = await api.mutate<Run>('runs.create', { agentId: newId('agent'), background: true });
    const held = () => stream.held(api.rt.streams.stream);
    const base = held();
    const controller = new AbortController();
    const res = await fetch(`${api.url}/v1/runs/${run.id}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"include_pings":false}',
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    await until(() => held() > base);
    controller.abort();
    await until(() => held() === base);

    const other = await startRestApi(db, stream.env, { streamKeepaliveMs: 150 });
    try {
      const live = await other.mutate<Run>('runs.create', { agentId: newId('agent'), background: true });
      await other.mutate('runs.appendEvents', {
        runId: live.id,
        events: [{ messageType: 'assistant_message', id: newId('message'), content: 'partial' }],
      });
      const open = await fetch(`${other.url}/v1/runs/${live.id}/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"include_pings":false}',
      });
      const it = chunks(open);
      expect(JSON.parse(((await it.next()).value as Chunk).data)).toMatchObject({ seq_id: 1 });
      const closing = other.app.close();
      expect((await it.next()).done).toBe(true);
      await closing;
    } finally {
      await other.rt.dispose();
    }
  });
});
