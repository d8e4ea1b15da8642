import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One line of `shared/data/provider-traces.sample.ndjson`: an LLM request and the provider's response. */
export interface ProviderSample {
  callType: string;
  requestJson: Record<string, unknown>;
  responseJson: Record<string, unknown>;
}

/** What a step records of one LLM call, read from a sample's request and response. */
export interface SampleCall {
  providerName: 'openai' | 'anthropic';
  model: string;
  callType: string;
  /** The provider's response id, kept as the step's requestId. */
  responseId: string | null;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** As Runtrace's usage sums them: `cached_tokens` (OpenAI) or `cache_read_tokens` / `cache_creation_tokens`. */
  promptTokensDetails: Record<string, number> | null;
  completionTokensDetails: Record<string, number> | null;
  /** The last user turn of the request. */
  userText: string;
  /** Anthropic thinking, when the response has some. */
  thinking: { text: string; signature: string | null } | null;
  /** Visible text of the response (OpenAI content, Anthropic text block, or the send_message argument). */
  text: string | null;
  toolCalls: { id: string; name: string; arguments: string }[];
  /** A tool result the request carried, reused as a plausible tool return. */
  toolResult: string | null;
  /** Set for error responses (rate limit, context overflow). */
  error: { type: string; message: string; data: Record<string, unknown> } | null;
  /** The sample's request and response as sent and received: what the step's provider trace records. */
  requestJson: Record<string, unknown>;
  responseJson: Record<string, unknown>;
}

export const SAMPLES_FILE = 'provider-traces.sample.ndjson';

/** Looks for `shared/data/<file>` in every directory above this one (the repo sits next to `shared/`). */
export function findSharedData(
  file = SAMPLES_FILE,
  from = path.dirname(fileURLToPath(import.meta.url)),
): string | null {
  let dir = from;
  for (;;) {
    for (const candidate of [path.join(dir, 'shared', 'data', file), path.join(dir, 'data', file)]) {
      if (existsSync(candidate)) return candidate;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** The shared provider traces, or a few small built-in ones when the file is not there. */
export function loadProviderSamples(): { samples: ProviderSample[]; source: string } {
  const file = findSharedData();
  if (file) {
    const samples = readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as ProviderSample);
    if (samples.length) return { samples, source: file };
  }
  return { samples: BUILT_IN_SAMPLES, source: `built-in samples (${SAMPLES_FILE} not found above ${process.cwd()})` };
}

const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function textOf(content: unknown): string | null {
  if (typeof content === 'string') return content;
  const parts = arr(content)
    .map((p) => obj(p))
    .filter((p) => p.type === 'text')
    .map((p) => str(p.text) ?? '');
  return parts.length ? parts.join('\n') : null;
}

/** Reads the fields a step and its messages need from an OpenAI- or Anthropic-shaped sample. */
export function describeCall(sample: ProviderSample): SampleCall {
  const req = obj(sample.requestJson);
  const res = obj(sample.responseJson);
  const messages = arr(req.messages).map(obj);
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const toolMessage = messages.find((m) => m.role === 'tool');
  const anthropic = res.type === 'message' || res.type === 'error' || 'system' in req || 'max_tokens' in req;
  const model = str(res.model) ?? str(req.model) ?? 'unknown';
  const call: SampleCall = {
    providerName: anthropic ? 'anthropic' : 'openai',
    model,
    callType: sample.callType,
    responseId: str(res.id),
    promptTokens: 0,
    completionTokens: 0,
    totalTokens: 0,
    promptTokensDetails: null,
    completionTokensDetails: null,
    userText: textOf(lastUser?.content) ?? 'Hello!',
    thinking: null,
    text: null,
    toolCalls: [],
    toolResult: str(toolMessage?.content),
    error: null,
    requestJson: sample.requestJson,
    responseJson: sample.responseJson,
  };

  const error = obj(res.error);
  if (Object.keys(error).length) {
    call.error = {
      type: str(error.code) ?? str(error.type) ?? 'provider_error',
      message: str(error.message) ?? 'provider error',
      data: error,
    };
    return call;
  }

  const usage = obj(res.usage);
  if (anthropic) {
    // Anthropic's input_tokens exclude cached input; the step counts all of it, as Letta does.
    const cacheRead = num(usage.cache_read_input_tokens);
    const cacheWrite = num(usage.cache_creation_input_tokens);
    call.promptTokens = num(usage.input_tokens) + cacheRead + cacheWrite;
    call.completionTokens = num(usage.output_tokens);
    call.promptTokensDetails = { cache_read_tokens: cacheRead, cache_creation_tokens: cacheWrite };
    for (const block of arr(res.content).map(obj)) {
      if (block.type === 'thinking')
        call.thinking = { text: str(block.thinking) ?? '', signature: str(block.signature) };
      if (block.type === 'text') call.text = str(block.text);
      if (block.type === 'tool_use') {
        call.toolCalls.push({
          id: str(block.id) ?? 'toolu_unknown',
          name: str(block.name) ?? 'unknown',
          arguments: JSON.stringify(block.input ?? {}),
        });
      }
    }
  } else {
    call.promptTokens = num(usage.prompt_tokens);
    call.completionTokens = num(usage.completion_tokens);
    const promptDetails = obj(usage.prompt_tokens_details);
    const completionDetails = obj(usage.completion_tokens_details);
    if (Object.keys(promptDetails).length) call.promptTokensDetails = promptDetails as Record<string, number>;
    if (Object.keys(completionDetails).length)
      call.completionTokensDetails = completionDetails as Record<string, number>;
    const message = obj(obj(arr(res.choices)[0]).message);
    call.text = textOf(message.content);
    for (const tc of arr(message.tool_calls).map(obj)) {
      const fn = obj(tc.function);
      call.toolCalls.push({
        id: str(tc.id) ?? 'call_unknown',
        name: str(fn.name) ?? 'unknown',
        arguments: str(fn.arguments) ?? '{}',
      });
    }
  }
  call.totalTokens = num(usage.total_tokens) || call.promptTokens + call.completionTokens;
  // A send_message tool call is what Letta shows as the assistant's reply.
  const send = call.toolCalls.find((t) => t.name === 'send_message');
  if (send && !call.text) {
    try {
      call.text = str(obj(JSON.parse(send.arguments)).message);
    } catch {
      // arguments that are not JSON stay a tool call only
    }
  }
  return call;
}

/** Used only when the shared data file is missing: one OpenAI call, one Anthropic call, one rate-limit error. */
const BUILT_IN_SAMPLES: ProviderSample[] = [
  {
    callType: 'agent_step',
    requestJson: {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are a helpful agent.' },
        { role: 'user', content: 'Will it rain in Lisbon tomorrow afternoon?' },
        {
          role: 'tool',
          tool_call_id: 'call_builtin1',
          content: '{"status":"OK","results":["rain likely after 14:00"]}',
        },
      ],
    },
    responseJson: {
      id: 'chatcmpl-builtin1',
      object: 'chat.completion',
      model: 'gpt-4o-mini-2024-07-18',
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          message: {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: 'call_builtin2',
                type: 'function',
                function: {
                  name: 'send_message',
                  arguments: '{"message":"Rain is likely after 2 pm: pack an umbrella."}',
                },
              },
            ],
          },
        },
      ],
      usage: {
        prompt_tokens: 640,
        completion_tokens: 58,
        total_tokens: 698,
        prompt_tokens_details: { cached_tokens: 213 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    },
  },
  {
    callType: 'agent_step',
    requestJson: {
      model: 'claude-sonnet-4-5',
      max_tokens: 4096,
      system: 'You are a stateful agent.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise what you remember about my trip.' }] }],
    },
    responseJson: {
      id: 'msg_builtin1',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      stop_reason: 'tool_use',
      content: [
        {
          type: 'thinking',
          thinking: 'The user asks about the trip; core memory mentions Lisbon.',
          signature: 'sigbuiltin',
        },
        { type: 'text', text: 'Let me check my notes.' },
        {
          type: 'tool_use',
          id: 'toolu_builtin1',
          name: 'send_message',
          input: { message: 'You are going to Lisbon.' },
        },
      ],
      usage: { input_tokens: 512, output_tokens: 140, cache_creation_input_tokens: 120, cache_read_input_tokens: 256 },
    },
  },
  {
    callType: 'agent_step',
    requestJson: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'And the day after?' }] },
    responseJson: {
      error: {
        message: 'Rate limit reached for gpt-4o-mini on tokens per min (TPM).',
        type: 'tokens',
        code: 'rate_limit_exceeded',
      },
    },
  },
];
