/**
 * Letta's official TypeScript client (@letta-ai/letta-client 1.12.1), unchanged, against a running api: every runs
 * and steps method it has, over data written through tRPC (and OTLP spans through the traces manager).
 *
 * Methods: runs.list, runs.retrieve, runs.messages.list, runs.messages.stream, runs.usage.retrieve, runs.steps.list,
 * runs.trace.retrieve, steps.list, steps.retrieve, steps.metrics.retrieve, steps.trace.retrieve,
 * steps.feedback.create, steps.messages.list (the client has no runs.delete or runs.metrics: those are checked over
 * plain HTTP in contract.test.ts).
 */
import { DEFAULT_ACTOR, newId } from '@runtrace/core';
import type { Run, Step } from '@runtrace/core/runs';
import { databaseTargets } from '@runtrace/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RestApi, startRestApi } from './test-helpers.ts';

const BIG_NS = '9223372036854775807'; // INT8_MAX: far past 2^53
const STEP_START_NS = '9007199254740993'; // 2^53 + 1
const TRACE_ID = 'ab'.repeat(16);

/** Spans start now (within the span TTL), with nanoseconds that a millisecond clock could not give. */
const T0 = BigInt(Math.floor(Date.now() / 1000)) * 1_000_000_000n + 123_456_789n;

function otlpSpans(traceId: string) {
  const span = (spanId: string, parentSpanId: string, name: string, start: bigint) => ({
    traceId,
    spanId,
    parentSpanId,
    name,
    kind: 1,
    startTimeUnixNano: String(start),
    endTimeUnixNano: String(start + 5_000_000n),
    attributes: [],
    status: {},
  });
  const t0 = T0;
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'letta' } }] },
        scopeSpans: [
          {
            scope: { name: 'letta' },
            spans: [
              span('0000000000000001', '', 'POST /v1/agents/{agent_id}/messages', t0),
              span('0000000000000002', '0000000000000001', 'agent_step', t0 + 1_000n),
              span('0000000000000003', '0000000000000002', 'LettaAgentV3._execute_tool', t0 + 2_000n),
              span('0000000000000004', '0000000000000002', 'llm_request', t0 + 3_000n),
            ],
          },
        ],
      },
    ],
  };
}

describe.each(databaseTargets())("Letta's client against the REST layer on $name", (target) => {
  let api: RestApi;
  let run: Run;
  let step1: Step;
  let step2: Step;
  const agentId = newId('agent');

  beforeAll(async () => {
    api = await startRestApi(target, { CLICKHOUSE_URL: 'chdb:memory' });
    run = await api.mutate<Run>('runs.create', {
      agentId,
      background: true,
      conversationId: 'conv-1',
      metadata: { camelKey: { innerKey: 1 } },
      requestConfig: { useAssistantMessage: true },
    });
    step1 = await api.mutate<Step>('steps.create', {
      runId: run.id,
      model: 'gpt-4o',
      providerName: 'openai',
      promptTokens: 100,
      completionTokens: 50,
      promptTokensDetails: { cached_tokens: 30 },
      completionTokensDetails: { reasoning_tokens: 7 },
      traceId: TRACE_ID,
      tags: ['alpha'],
      status: 'success',
      stepStartNs: STEP_START_NS,
      llmRequestNs: '123',
      stepNs: '456',
    });
    step2 = await api.mutate<Step>('steps.create', {
      runId: run.id,
      model: 'gpt-4o-mini',
      promptTokens: 10,
      completionTokens: 5,
      promptTokensDetails: { cache_creation_tokens: 4 },
    });
    await api.mutate('messages.create', {
      runId: run.id,
      messages: [
        { messageType: 'user_message', content: 'hi', stepId: step1.id },
        { messageType: 'reasoning_message', reasoning: 'thinking', stepId: step1.id },
        {
          messageType: 'tool_call_message',
          toolCall: { name: 'search', arguments: '{}', toolCallId: 'call-1' },
          stepId: step1.id,
        },
        {
          messageType: 'tool_return_message',
          toolReturn: 'ok',
          status: 'success',
          toolCallId: 'call-1',
          stepId: step2.id,
        },
        { messageType: 'assistant_message', content: 'done', stepId: step2.id },
      ],
    });
    await api.mutate('providerTraces.create', {
      requestJson: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] },
      responseJson: { choices: [] },
      stepId: step1.id,
      runId: run.id,
      callType: 'agent_step',
    });
    await api.mutate('runs.appendEvents', {
      runId: run.id,
      events: [
        { messageType: 'reasoning_message', id: newId('message'), reasoning: 'thinking' },
        { messageType: 'assistant_message', id: newId('message'), content: 'done' },
        { messageType: 'stop_reason', stopReason: 'end_turn' },
        { messageType: 'usage_statistics', promptTokens: 110, completionTokens: 55, totalTokens: 165, stepCount: 2 },
      ],
      end: true,
    });
    await api.mutate('runs.update', { runId: run.id, ttftNs: BIG_NS });
    await api.rt.traces.ingest(DEFAULT_ACTOR, new TextEncoder().encode(JSON.stringify(otlpSpans(TRACE_ID))), 'json');
    await api.rt.traces.flush();
  });
  afterAll(async () => {
    await api?.close();
  });

  it("runs.list and runs.retrieve: Letta's Run, nanoseconds as exact JSON integers", async () => {
    const letta = api.letta();
    const listed = await letta.runs.list({ agent_id: agentId });
    expect(listed.items.map((r) => r.id)).toEqual([run.id]);
    const got = await letta.runs.retrieve(run.id);
    expect(got).toMatchObject({
      id: run.id,
      agent_id: agentId,
      status: 'completed',
      stop_reason: 'end_turn',
      background: true,
      conversation_id: 'conv-1',
      base_template_id: null,
      metadata: { camelKey: { innerKey: 1 } },
      request_config: { use_assistant_message: true, include_return_message_types: null },
      callback_url: null,
      callback_sent_at: null,
      callback_status_code: null,
      callback_error: null,
    });
    expect(Object.keys(got).sort()).toEqual(
      [
        'id',
        'status',
        'created_at',
        'completed_at',
        'agent_id',
        'conversation_id',
        'base_template_id',
        'background',
        'metadata',
        'request_config',
        'stop_reason',
        'callback_url',
        'callback_sent_at',
        'callback_status_code',
        'callback_error',
        'ttft_ns',
        'total_duration_ns',
      ].sort(),
    );
    expect(got.created_at).toBe(run.createdAt);
    expect(typeof got.completed_at).toBe('string');
    // JSON numbers are doubles in JS: the exact integer is in the text
    const raw = await api.rest(`/v1/runs/${run.id}`);
    expect(raw.text).toContain(`"ttft_ns":${BIG_NS}`);
    expect(raw.text).toMatch(/"total_duration_ns":\d+/);
    // filters Letta's client sends: statuses (repeated), background, stop_reason, conversation_id, active
    expect((await letta.runs.list({ statuses: ['completed', 'failed'], agent_id: agentId })).items).toHaveLength(1);
    expect((await letta.runs.list({ statuses: ['running'], agent_id: agentId })).items).toHaveLength(0);
    expect(
      (await letta.runs.list({ agent_ids: [agentId], background: true, stop_reason: 'end_turn' })).items,
    ).toHaveLength(1);
    expect((await letta.runs.list({ conversation_id: 'conv-2' })).items).toHaveLength(0);
    expect((await letta.runs.list({ active: true, agent_id: agentId })).items).toHaveLength(0);
    expect((await letta.runs.list({ ascending: true, agent_id: agentId })).items).toHaveLength(1);
  });

  it('runs.messages.list: the LettaMessage union with message_type and snake_case fields', async () => {
    const page = await api.letta().runs.messages.list(run.id);
    const messages = page.items as unknown as Record<string, unknown>[];
    expect(messages.map((m) => m.message_type)).toEqual([
      'user_message',
      'reasoning_message',
      'tool_call_message',
      'tool_return_message',
      'assistant_message',
    ]);
    expect(messages[2]).toMatchObject({
      run_id: run.id,
      step_id: step1.id,
      seq_id: 3,
      tool_call: { name: 'search', arguments: '{}', tool_call_id: 'call-1' },
      otid: null,
      sender_id: null,
      is_err: null,
    });
    expect(messages[3]).toMatchObject({ tool_return: 'ok', status: 'success', tool_call_id: 'call-1' });
    expect(messages[4]).toMatchObject({ content: 'done', date: expect.any(String) });
    expect(messages[0]).not.toHaveProperty('agent_id');
    const desc = await api.letta().runs.messages.list(run.id, { order: 'desc', limit: 2 });
    expect(desc.items.map((m) => (m as { message_type: string }).message_type)).toEqual([
      'assistant_message',
      'tool_return_message',
    ]);
  });

  it('runs.usage.retrieve: sums every step, keeps step_count and the cache/reasoning totals', async () => {
    const usage = (await api.letta().runs.usage.retrieve(run.id)) as Record<string, unknown>;
    expect(usage).toEqual({
      prompt_tokens: 110,
      completion_tokens: 55,
      total_tokens: 165,
      step_count: 2,
      cached_input_tokens: 30,
      cache_write_tokens: 4,
      reasoning_tokens: 7,
      prompt_tokens_details: { cached_tokens: 30, cache_read_tokens: null, cache_creation_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 7 },
    });
  });

  it("runs.steps.list: Letta's Step with messages: [] and the organization", async () => {
    const steps = (await api.letta().runs.steps.list(run.id)).items;
    expect(steps.map((s) => s.id)).toEqual([step2.id, step1.id]);
    expect(steps[1]).toMatchObject({
      run_id: run.id,
      agent_id: agentId,
      organization_id: DEFAULT_ACTOR.organizationId,
      model: 'gpt-4o',
      provider_name: 'openai',
      prompt_tokens: 100,
      completion_tokens: 50,
      total_tokens: 150,
      prompt_tokens_details: { cached_tokens: 30 },
      completion_tokens_details: { reasoning_tokens: 7 },
      cached_input_tokens: 30,
      reasoning_tokens: 7,
      cache_write_tokens: null,
      trace_id: TRACE_ID,
      tags: ['alpha'],
      status: 'success',
      messages: [],
      feedback: null,
    });
    const asc = await api.letta().runs.steps.list(run.id, { order: 'asc', limit: 1 });
    expect(asc.items.map((s) => s.id)).toEqual([step1.id]);
  });

  it("runs.trace.retrieve: the OTel spans of the run with Letta's UI filter, as otel_traces rows", async () => {
    const spans = await api.letta().runs.trace.retrieve(run.id);
    expect(spans.map((s) => s.SpanName)).toEqual([
      'POST /v1/agents/{agent_id}/messages',
      'agent_step',
      'LettaAgentV3._execute_tool',
    ]);
    expect(spans[0]).toMatchObject({ TraceId: TRACE_ID, ParentSpanId: '', Duration: 5_000_000, ServiceName: 'letta' });
    expect(spans[0]?.Timestamp).toBe(`${new Date(Number(T0 / 1_000_000n)).toISOString().slice(0, 19)}.123456789Z`);
    expect((await api.letta().runs.trace.retrieve(run.id, { limit: 1 })).length).toBe(1);
  });

  it("runs.messages.stream: replays the background run in Letta's SSE format and resumes from starting_after", async () => {
    const stream = await api.letta().runs.messages.stream(run.id, { starting_after: 0 });
    const events: Record<string, unknown>[] = [];
    for await (const event of stream) events.push(event as unknown as Record<string, unknown>);
    expect(events.map((e) => e.message_type)).toEqual([
      'reasoning_message',
      'assistant_message',
      'stop_reason',
      'usage_statistics',
    ]);
    expect(events.map((e) => e.seq_id)).toEqual([1, 2, 3, 4]);
    expect(events.every((e) => e.run_id === run.id)).toBe(true);
    expect(events[2]).toMatchObject({ stop_reason: 'end_turn' });
    const resumed = await api.letta().runs.messages.stream(run.id, { starting_after: 1, include_pings: false });
    const rest: Record<string, unknown>[] = [];
    for await (const event of resumed) rest.push(event as unknown as Record<string, unknown>);
    expect(rest.map((e) => e.seq_id)).toEqual([2, 3, 4]);
  });

  it("steps.list with Letta's filters, steps.retrieve, steps.metrics.retrieve", async () => {
    const letta = api.letta();
    expect((await letta.steps.list({ agent_id: agentId })).items.map((s) => s.id)).toEqual([step2.id, step1.id]);
    expect((await letta.steps.list({ agent_id: agentId, model: 'gpt-4o' })).items.map((s) => s.id)).toEqual([step1.id]);
    expect((await letta.steps.list({ trace_ids: [TRACE_ID, 'other'] })).items.map((s) => s.id)).toEqual([step1.id]);
    expect((await letta.steps.list({ agent_id: agentId, tags: ['alpha'] })).items.map((s) => s.id)).toEqual([step1.id]);
    expect(
      (await letta.steps.list({ agent_id: agentId, start_date: '2000-01-01', end_date: '2999-01-01T00:00:00+02:00' }))
        .items,
    ).toHaveLength(2);
    expect((await letta.steps.list({ agent_id: agentId, start_date: '2999-01-01' })).items).toHaveLength(0);
    expect((await letta.steps.list({ agent_id: agentId, order: 'asc', limit: 1 })).items.map((s) => s.id)).toEqual([
      step1.id,
    ]);
    const got = await letta.steps.retrieve(step1.id);
    expect(got).toMatchObject({ id: step1.id, run_id: run.id, model: 'gpt-4o', messages: [] });
    const metrics = await letta.steps.metrics.retrieve(step1.id);
    expect(metrics).toMatchObject({
      id: step1.id,
      run_id: run.id,
      agent_id: agentId,
      llm_request_ns: 123,
      step_ns: 456,
      tool_execution_ns: null,
      llm_request_start_ns: null,
      template_id: null,
      base_template_id: null,
    });
    expect((await api.rest(`/v1/steps/${step1.id}/metrics`)).text).toContain(`"step_start_ns":${STEP_START_NS}`);
  });

  it('steps.trace.retrieve: the provider trace from the primary backend, null for a step without one', async () => {
    const trace = await api.letta().steps.trace.retrieve(step1.id);
    expect(trace).toMatchObject({
      id: expect.stringMatching(/^provider_trace-/),
      request_json: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] },
      response_json: { choices: [] },
      step_id: step1.id,
      run_id: run.id,
      call_type: 'agent_step',
      agent_id: null,
      agent_tags: null,
      created_by_id: null,
      last_updated_by_id: null,
      updated_at: null,
    });
    expect(await api.letta().steps.trace.retrieve(step2.id)).toBeNull();
  });

  it('steps.feedback.create sets feedback and tags; the feedback filters of steps.list see it', async () => {
    const letta = api.letta();
    const updated = await letta.steps.feedback.create(step2.id, { feedback: 'positive', tags: ['good'] });
    expect(updated).toMatchObject({ id: step2.id, feedback: 'positive', tags: ['good'] });
    expect((await letta.steps.list({ agent_id: agentId, feedback: 'positive' })).items.map((s) => s.id)).toEqual([
      step2.id,
    ]);
    expect((await letta.steps.list({ agent_id: agentId, has_feedback: false })).items.map((s) => s.id)).toEqual([
      step1.id,
    ]);
    const cleared = await letta.steps.feedback.create(step2.id, { feedback: null });
    expect(cleared).toMatchObject({ feedback: null, tags: ['good'] });
  });

  it('steps.messages.list: the messages of one step, in order', async () => {
    const page = await api.letta().steps.messages.list(step1.id);
    expect(page.items.map((m) => (m as { message_type: string }).message_type)).toEqual([
      'user_message',
      'reasoning_message',
      'tool_call_message',
    ]);
    const after = await api.letta().steps.messages.list(step1.id, { after: page.items[0]!.id, limit: 1 });
    expect(after.items.map((m) => m.id)).toEqual([page.items[1]!.id]);
  });

  it('errors reach the client as its typed errors (404, 400, 422)', async () => {
    const letta = api.letta();
    await expect(letta.runs.retrieve(newId('run'))).rejects.toMatchObject({ status: 404 });
    await expect(letta.runs.retrieve('run-nope')).rejects.toMatchObject({
      status: 400,
      error: { detail: "INVALID_ARGUMENT: Invalid run ID format: run-nope. Expected format: 'run-<uuid4>'" },
    });
    await expect(letta.runs.list({ limit: 0 })).rejects.toMatchObject({ status: 422 });
    await expect(letta.steps.retrieve(newId('step'))).rejects.toMatchObject({ status: 404 });
  });

  it("auto-pagination over 250 runs visits each exactly once, in both orders and backwards with 'before'", async () => {
    const agent = newId('agent');
    const created: string[] = [];
    for (let i = 0; i < 250; i++) created.push((await api.mutate<Run>('runs.create', { agentId: agent })).id);
    // ten runs per timestamp: cursors must be exact at equal times
    await api.sql(
      `update runs set created_at = '2026-01-01T00:00:00Z'::timestamptz + (ord / 10) * interval '1 millisecond'
       from (select id as rid, row_number() over (order by id) as ord from runs where agent_id = '${agent}') o
       where runs.id = o.rid`,
    );
    const letta = api.letta();
    const expected = (await api.rest(`/v1/runs/?agent_id=${agent}&limit=1000`)).json as { id: string }[];
    expect(expected).toHaveLength(250);
    const desc: string[] = [];
    for await (const r of letta.runs.list({ agent_id: agent, limit: 7 })) desc.push(r.id);
    expect(desc).toEqual(expected.map((r) => r.id));
    const asc: string[] = [];
    for await (const r of letta.runs.list({ agent_id: agent, limit: 9, order: 'asc' })) asc.push(r.id);
    expect(asc).toEqual([...desc].reverse());
    expect(new Set(asc)).toEqual(new Set(created));
    // Letta's client pages backwards with before=<first id of the page>
    const oldest = desc[desc.length - 1]!;
    const back: string[] = [];
    for await (const r of letta.runs.list({ agent_id: agent, limit: 8, before: oldest })) back.push(r.id);
    expect(back.sort()).toEqual(desc.slice(0, -1).sort());
  });
});
