/**
 * The GenAI span reader, per convention. Attribute names come from the published convention packages, so these tests
 * fail when Runtrace reads a name the conventions do not use. Spans go through the real OTLP decoder first.
 */
import * as oi from '@arizeai/openinference-semantic-conventions';
import * as semconv from '@opentelemetry/semantic-conventions/incubating';
import { SpanAttributes as Traceloop } from '@traceloop/ai-semantic-conventions';
import { describe, expect, it } from 'vitest';
import { otlpJsonRequest, type TestAttributeValue, type TestSpan } from '../../testing/otlp-spans.ts';
import { otlpToRows } from '../otlp-to-rows.ts';
import { type GenAiSpan, SpanDataError } from './gen-ai-span.ts';
import { readGenAiSpan } from './read-gen-ai-span.ts';
import { mayMap, parseSpanRow } from './span-row.ts';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const START = 1_765_000_000_123_456_789n;

/** The span as the ingest path reads it: OTLP/JSON → decoder row → reader. */
function read(attributes: Record<string, TestAttributeValue>, extra: Partial<TestSpan> = {}): GenAiSpan | null {
  const span: TestSpan = {
    traceId: TRACE,
    spanId: 'b7ad6b7169203331',
    parentSpanId: '00f067aa0ba902b7',
    name: 'span',
    startNs: START,
    attributes,
    ...extra,
  };
  const rows = otlpToRows(otlpJsonRequest([{ attributes: { 'service.name': 'svc' }, spans: [span] }]), 'json', 'org-x');
  const [line] = rows.spanLines;
  if (!line) throw new Error('the decoder refused the span');
  return mayMap(line) ? readGenAiSpan(parseSpanRow(line)) : null;
}

function readError(attributes: Record<string, TestAttributeValue>): SpanDataError {
  try {
    read(attributes);
  } catch (err) {
    if (err instanceof SpanDataError) return err;
    throw err;
  }
  throw new Error('no SpanDataError');
}

describe('OpenTelemetry gen_ai semantic conventions (incubating)', () => {
  it('reads a chat span of the development version: model, provider, tokens by type, finish reasons, messages, TTFT', () => {
    const span = read(
      {
        [semconv.ATTR_GEN_AI_OPERATION_NAME]: semconv.GEN_AI_OPERATION_NAME_VALUE_CHAT,
        [semconv.ATTR_GEN_AI_PROVIDER_NAME]: 'anthropic',
        [semconv.ATTR_GEN_AI_REQUEST_MODEL]: 'claude-sonnet-4',
        [semconv.ATTR_GEN_AI_RESPONSE_MODEL]: 'claude-sonnet-4-20250514',
        [semconv.ATTR_GEN_AI_RESPONSE_ID]: 'msg_1',
        [semconv.ATTR_GEN_AI_REQUEST_TEMPERATURE]: 0.5,
        [semconv.ATTR_GEN_AI_REQUEST_MAX_TOKENS]: 1024,
        [semconv.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 1000,
        [semconv.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: 600,
        [semconv.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS]: 100,
        [semconv.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: 50,
        [semconv.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS]: 20,
        [semconv.ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: ['stop'],
        [semconv.ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK]: 0.25,
        [semconv.ATTR_GEN_AI_SYSTEM_INSTRUCTIONS]: JSON.stringify([{ type: 'text', content: 'Be brief.' }]),
        [semconv.ATTR_GEN_AI_INPUT_MESSAGES]: JSON.stringify([
          { role: 'user', parts: [{ type: 'text', content: 'Weather?' }] },
          { role: 'assistant', parts: [{ type: 'tool_call', id: 'c1', name: 'weather', arguments: { city: 'Oslo' } }] },
          { role: 'tool', parts: [{ type: 'tool_call_response', id: 'c1', response: { celsius: 3 } }] },
        ]),
        [semconv.ATTR_GEN_AI_OUTPUT_MESSAGES]: JSON.stringify([
          {
            role: 'assistant',
            parts: [
              { type: 'reasoning', content: 'cold' },
              { type: 'text', content: '3°C' },
            ],
            finish_reason: 'stop',
          },
        ]),
      },
      { status: 'ok' },
    );
    expect(span).toMatchObject({
      kind: 'llm',
      model: 'claude-sonnet-4',
      responseModel: 'claude-sonnet-4-20250514',
      provider: 'anthropic',
      responseId: 'msg_1',
      tokens: { prompt: 1000, completion: 50, cachedInput: 600, cacheWrite: 100, reasoning: 20 },
      finishReasons: ['stop'],
      ttftNs: 250_000_000n,
      startNs: START,
      error: null,
      requestParams: { temperature: 0.5, max_tokens: 1024 },
    });
    expect(span?.inputMessages).toEqual([
      { role: 'system', parts: [{ type: 'text', content: 'Be brief.' }] },
      { role: 'user', parts: [{ type: 'text', content: 'Weather?' }] },
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'c1', name: 'weather', arguments: '{"city":"Oslo"}' }] },
      { role: 'tool', parts: [{ type: 'tool_call_response', id: 'c1', response: '{"celsius":3}' }] },
    ]);
    expect(span?.outputMessages).toEqual([
      {
        role: 'assistant',
        parts: [
          { type: 'reasoning', content: 'cold' },
          { type: 'text', content: '3°C' },
        ],
      },
    ]);
  });

  it('reads v1.36-era spans: gen_ai.system, the older usage names, and the gen_ai.*.message / gen_ai.choice events', () => {
    const span = read(
      {
        [semconv.ATTR_GEN_AI_SYSTEM]: 'openai',
        [semconv.ATTR_GEN_AI_REQUEST_MODEL]: 'gpt-4o',
        [semconv.ATTR_GEN_AI_USAGE_PROMPT_TOKENS]: 30,
        [semconv.ATTR_GEN_AI_USAGE_COMPLETION_TOKENS]: 7,
      },
      {
        events: [
          {
            name: semconv.EVENT_GEN_AI_SYSTEM_MESSAGE,
            attributes: { 'gen_ai.event.content': JSON.stringify({ content: 'sys' }) },
          },
          {
            name: semconv.EVENT_GEN_AI_USER_MESSAGE,
            attributes: { 'gen_ai.event.content': JSON.stringify({ content: 'hi' }) },
          },
          {
            name: semconv.EVENT_GEN_AI_CHOICE,
            attributes: {
              'gen_ai.event.content': JSON.stringify({
                index: 0,
                finish_reason: 'tool_calls',
                message: {
                  role: 'assistant',
                  tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{}' } }],
                },
              }),
            },
          },
        ],
      },
    );
    expect(span).toMatchObject({
      kind: 'llm',
      provider: 'openai',
      model: 'gpt-4o',
      tokens: { prompt: 30, completion: 7 },
    });
    expect(span?.inputMessages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(span?.outputMessages).toEqual([
      { role: 'assistant', parts: [{ type: 'tool_call', id: 't1', name: 'f', arguments: '{}' }] },
    ]);
  });

  it('reads the deprecated gen_ai.prompt / gen_ai.completion JSON', () => {
    const span = read({
      [semconv.ATTR_GEN_AI_REQUEST_MODEL]: 'm',
      [semconv.ATTR_GEN_AI_PROMPT]: JSON.stringify([{ role: 'user', content: 'q' }]),
      [semconv.ATTR_GEN_AI_COMPLETION]: JSON.stringify([{ role: 'assistant', content: 'a' }]),
    });
    expect(span?.inputMessages).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'q' }] }]);
    expect(span?.outputMessages).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: 'a' }] }]);
  });

  it('tells agent, llm and tool spans apart by operation name; other operations are not mapped', () => {
    const op = (name: string) => read({ [semconv.ATTR_GEN_AI_OPERATION_NAME]: name })?.kind ?? null;
    expect(op(semconv.GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT)).toBe('agent');
    expect(op(semconv.GEN_AI_OPERATION_NAME_VALUE_CHAT)).toBe('llm');
    expect(op(semconv.GEN_AI_OPERATION_NAME_VALUE_TEXT_COMPLETION)).toBe('llm');
    expect(op(semconv.GEN_AI_OPERATION_NAME_VALUE_GENERATE_CONTENT)).toBe('llm');
    expect(op(semconv.GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL)).toBe('tool');
    expect(op(semconv.GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS)).toBeNull();
    expect(op('agent_step')).toBeNull();
    // no operation name: a request model or usage makes an LLM call
    expect(read({ [semconv.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 3 })?.kind).toBe('llm');
    expect(read({ 'http.method': 'GET' })).toBeNull();
  });

  it('reads an invoke_agent span (agent id and name) and an execute_tool span (name, call id, arguments, result)', () => {
    expect(
      read({
        [semconv.ATTR_GEN_AI_OPERATION_NAME]: semconv.GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT,
        [semconv.ATTR_GEN_AI_AGENT_ID]: 'asst_1',
        [semconv.ATTR_GEN_AI_AGENT_NAME]: 'Helper',
      }),
    ).toMatchObject({ kind: 'agent', agentId: 'asst_1', agentName: 'Helper', serviceName: 'svc' });
    expect(
      read(
        {
          [semconv.ATTR_GEN_AI_OPERATION_NAME]: semconv.GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
          [semconv.ATTR_GEN_AI_TOOL_NAME]: 'weather',
          [semconv.ATTR_GEN_AI_TOOL_CALL_ID]: 'c1',
          [semconv.ATTR_GEN_AI_TOOL_CALL_ARGUMENTS]: '{"city":"Oslo"}',
          [semconv.ATTR_GEN_AI_TOOL_CALL_RESULT]: '{"celsius":3}',
          'error.type': 'TimeoutError',
        },
        { status: 'error', statusMessage: 'tool timed out' },
      ),
    ).toMatchObject({
      kind: 'tool',
      tool: { name: 'weather', callId: 'c1', arguments: '{"city":"Oslo"}', result: '{"celsius":3}' },
      error: { type: 'TimeoutError', message: 'tool timed out' },
    });
  });
});

describe('OpenInference', () => {
  const { SemanticConventions: SC, OpenInferenceSpanKind: Kind } = oi;

  it('reads an LLM span with flattened messages, tool calls, token details and invocation parameters', () => {
    const inMsg = (i: number, key: string) => `${SC.LLM_INPUT_MESSAGES}.${i}.${key}`;
    const outMsg = (i: number, key: string) => `${SC.LLM_OUTPUT_MESSAGES}.${i}.${key}`;
    const span = read({
      [SC.OPENINFERENCE_SPAN_KIND]: Kind.LLM,
      [SC.LLM_MODEL_NAME]: 'gpt-4.1',
      [SC.LLM_PROVIDER]: 'openai',
      [SC.LLM_TOKEN_COUNT_PROMPT]: 200,
      [SC.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ]: 50,
      [SC.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_WRITE]: 10,
      [SC.LLM_TOKEN_COUNT_COMPLETION]: 30,
      [SC.LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING]: 12,
      [SC.LLM_INVOCATION_PARAMETERS]: JSON.stringify({ temperature: 0 }),
      [inMsg(0, SC.MESSAGE_ROLE)]: 'system',
      [inMsg(0, SC.MESSAGE_CONTENT)]: 'sys',
      [inMsg(1, SC.MESSAGE_ROLE)]: 'user',
      [`${inMsg(1, SC.MESSAGE_CONTENTS)}.0.${SC.MESSAGE_CONTENT_TYPE}`]: 'text',
      [`${inMsg(1, SC.MESSAGE_CONTENTS)}.0.${SC.MESSAGE_CONTENT_TEXT}`]: 'hello',
      [outMsg(0, SC.MESSAGE_ROLE)]: 'assistant',
      [`${outMsg(0, SC.MESSAGE_TOOL_CALLS)}.0.${SC.TOOL_CALL_ID}`]: 'call_9',
      [`${outMsg(0, SC.MESSAGE_TOOL_CALLS)}.0.${SC.TOOL_CALL_FUNCTION_NAME}`]: 'lookup',
      [`${outMsg(0, SC.MESSAGE_TOOL_CALLS)}.0.${SC.TOOL_CALL_FUNCTION_ARGUMENTS_JSON}`]: '{"q":1}',
    });
    expect(span).toMatchObject({
      kind: 'llm',
      model: 'gpt-4.1',
      provider: 'openai',
      tokens: { prompt: 200, completion: 30, cachedInput: 50, cacheWrite: 10, reasoning: 12 },
      requestParams: { temperature: 0 },
    });
    expect(span?.inputMessages).toEqual([
      { role: 'system', parts: [{ type: 'text', content: 'sys' }] },
      { role: 'user', parts: [{ type: 'text', content: 'hello' }] },
    ]);
    expect(span?.outputMessages).toEqual([
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_9', name: 'lookup', arguments: '{"q":1}' }] },
    ]);
  });

  it('reads AGENT and TOOL spans; CHAIN and RETRIEVER spans are not mapped', () => {
    expect(read({ [SC.OPENINFERENCE_SPAN_KIND]: Kind.AGENT, [SC.AGENT_NAME]: 'planner' })).toMatchObject({
      kind: 'agent',
      agentName: 'planner',
    });
    expect(
      read({
        [SC.OPENINFERENCE_SPAN_KIND]: Kind.TOOL,
        [SC.TOOL_NAME]: 'search',
        [SC.TOOL_CALL_ID]: 'x1',
        [SC.INPUT_VALUE]: '{"q":"a"}',
        [SC.OUTPUT_VALUE]: 'found',
      }),
    ).toMatchObject({ kind: 'tool', tool: { name: 'search', callId: 'x1', arguments: '{"q":"a"}', result: 'found' } });
    expect(read({ [SC.OPENINFERENCE_SPAN_KIND]: Kind.CHAIN })).toBeNull();
    expect(read({ [SC.OPENINFERENCE_SPAN_KIND]: Kind.RETRIEVER })).toBeNull();
  });
});

describe('OpenLLMetry (Traceloop)', () => {
  it('reads indexed gen_ai.prompt.N / gen_ai.completion.N messages and its cache and reasoning names', () => {
    const span = read({
      [Traceloop.LLM_REQUEST_TYPE]: 'chat',
      [semconv.ATTR_GEN_AI_SYSTEM]: 'Anthropic',
      [semconv.ATTR_GEN_AI_REQUEST_MODEL]: 'claude-3-5-haiku',
      [semconv.ATTR_GEN_AI_USAGE_PROMPT_TOKENS]: 10,
      [Traceloop.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: 40,
      [Traceloop.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS]: 5,
      [semconv.ATTR_GEN_AI_USAGE_COMPLETION_TOKENS]: 8,
      [Traceloop.GEN_AI_USAGE_REASONING_TOKENS]: 3,
      [Traceloop.LLM_USAGE_TOTAL_TOKENS]: 63,
      'gen_ai.prompt.0.role': 'user',
      'gen_ai.prompt.0.content': 'What time is it?',
      'gen_ai.completion.0.role': 'assistant',
      'gen_ai.completion.0.content': 'Noon.',
      'gen_ai.completion.0.finish_reason': 'end_turn',
      'gen_ai.completion.0.tool_calls.0.id': 'tc',
      'gen_ai.completion.0.tool_calls.0.name': 'clock',
      'gen_ai.completion.0.tool_calls.0.arguments': '{}',
    });
    // Anthropic counts cache reads and writes apart from input_tokens: they are added to the prompt
    expect(span).toMatchObject({
      kind: 'llm',
      provider: 'anthropic',
      tokens: { prompt: 55, completion: 8, cachedInput: 40, cacheWrite: 5, reasoning: 3 },
      finishReasons: ['end_turn'],
    });
    expect(span?.inputMessages).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'What time is it?' }] }]);
    expect(span?.outputMessages).toEqual([
      {
        role: 'assistant',
        parts: [
          { type: 'text', content: 'Noon.' },
          { type: 'tool_call', id: 'tc', name: 'clock', arguments: '{}' },
        ],
      },
    ]);
  });

  it('reads traceloop.span.kind agent and tool spans', () => {
    expect(read({ [Traceloop.TRACELOOP_SPAN_KIND]: 'agent', [Traceloop.TRACELOOP_ENTITY_NAME]: 'bot' })).toMatchObject({
      kind: 'agent',
      agentName: 'bot',
    });
    expect(
      read({
        [Traceloop.TRACELOOP_SPAN_KIND]: 'tool',
        [Traceloop.TRACELOOP_ENTITY_NAME]: 'calc',
        [Traceloop.TRACELOOP_ENTITY_INPUT]: '{"a":1}',
        [Traceloop.TRACELOOP_ENTITY_OUTPUT]: '2',
      }),
    ).toMatchObject({ kind: 'tool', tool: { name: 'calc', arguments: '{"a":1}', result: '2' } });
    expect(read({ [Traceloop.TRACELOOP_SPAN_KIND]: 'workflow' })).toBeNull();
  });
});

describe('Vercel AI SDK (ai.*)', () => {
  it('reads a doGenerate span as ONE llm span although it also carries gen_ai.*', () => {
    const span = read(
      {
        'ai.operationId': 'ai.generateText.doGenerate',
        'ai.model.provider': 'openai.chat',
        'ai.model.id': 'gpt-4o-mini',
        'ai.telemetry.functionId': 'weather-agent',
        'ai.usage.promptTokens': 12,
        'ai.usage.completionTokens': 4,
        'ai.response.finishReason': 'tool-calls',
        'ai.prompt.messages': JSON.stringify([
          { role: 'system', content: 'sys' },
          { role: 'user', content: [{ type: 'text', text: 'hi' }] },
        ]),
        'ai.response.toolCalls': JSON.stringify([
          { toolCallType: 'function', toolCallId: 'c', toolName: 'w', args: '{"x":1}' },
        ]),
        [semconv.ATTR_GEN_AI_SYSTEM]: 'openai.chat',
        [semconv.ATTR_GEN_AI_REQUEST_MODEL]: 'gpt-4o-mini',
        [semconv.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 12,
      },
      { name: 'ai.generateText.doGenerate' },
    );
    expect(span).toMatchObject({
      kind: 'llm',
      provider: 'openai',
      model: 'gpt-4o-mini',
      agentName: 'weather-agent',
      tokens: { prompt: 12, completion: 4 },
      finishReasons: ['tool-calls'],
    });
    expect(span?.inputMessages).toEqual([
      { role: 'system', parts: [{ type: 'text', content: 'sys' }] },
      { role: 'user', parts: [{ type: 'text', content: 'hi' }] },
    ]);
    expect(span?.outputMessages).toEqual([
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'c', name: 'w', arguments: '{"x":1}' }] },
    ]);
  });

  it('reads the outer call as an agent span, ai.toolCall as a tool span, and the stream TTFT in ms', () => {
    expect(read({ 'ai.operationId': 'ai.streamText' }, { name: 'ai.streamText' })?.kind).toBe('agent');
    expect(
      read({
        'ai.operationId': 'ai.toolCall',
        'ai.toolCall.name': 'w',
        'ai.toolCall.id': 'c',
        'ai.toolCall.args': '{}',
        'ai.toolCall.result': '"ok"',
      }),
    ).toMatchObject({ kind: 'tool', tool: { name: 'w', callId: 'c', arguments: '{}', result: '"ok"' } });
    expect(read({ 'ai.operationId': 'ai.streamText.doStream', 'ai.response.msToFirstChunk': 42.5 })?.ttftNs).toBe(
      42_500_000n,
    );
    expect(read({ 'ai.operationId': 'ai.embed' })).toBeNull();
  });
});

describe('bad data', () => {
  it('refuses negative, fractional and oversized token counts, over-long model names and message attributes that are not JSON', () => {
    expect(readError({ [semconv.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: -5 }).reason).toBe('invalid_tokens');
    expect(readError({ [semconv.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: 1.5 }).reason).toBe('invalid_tokens');
    expect(readError({ [semconv.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 3_000_000_000 }).reason).toBe('invalid_tokens');
    expect(readError({ [semconv.ATTR_GEN_AI_REQUEST_MODEL]: 'm'.repeat(5000) }).reason).toBe('model_too_long');
    expect(
      readError({ [semconv.ATTR_GEN_AI_REQUEST_MODEL]: 'm', [semconv.ATTR_GEN_AI_INPUT_MESSAGES]: '[{"role":' }).reason,
    ).toBe('invalid_messages');
  });

  it('ignores unknown gen_ai.usage.* keys', () => {
    expect(
      read({ [semconv.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 1, 'gen_ai.usage.audio_tokens': 'lots' })?.tokens,
    ).toMatchObject({
      prompt: 1,
    });
  });
});
