/**
 * A GenAI span's input and output messages, from whichever convention carried them (first found wins):
 * gen_ai.input.messages / gen_ai.output.messages (+ gen_ai.system_instructions); the AI SDK's ai.prompt.messages,
 * ai.prompt, ai.response.text / .reasoning / .toolCalls; OpenInference's flattened llm.input_messages.N.message.*;
 * OpenLLMetry's indexed gen_ai.prompt.N.* / gen_ai.completion.N.*; the gen_ai.*.message and gen_ai.choice events;
 * the older gen_ai.prompt / gen_ai.completion JSON (attributes, or gen_ai.content.* events).
 */
import type { SpanAttributes } from '../schemas.ts';
import { type ChatMessage, type MessagePart, type MessageRole, SpanDataError, type SpanRow } from './gen-ai-span.ts';

type Json = unknown;
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON text of an attribute; a value that is not JSON is the span's data error. */
function parseJson(text: string, what: string): Json {
  try {
    return JSON.parse(text);
  } catch {
    throw new SpanDataError('invalid_messages', `${what} is not JSON`);
  }
}

/** Text of any value: strings as they are, everything else as JSON. */
const textOf = (v: unknown): string =>
  typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);

function roleOf(value: unknown): MessageRole {
  const role = String(value ?? '').toLowerCase();
  if (role === 'system' || role === 'developer') return 'system';
  if (role === 'assistant' || role === 'model' || role === 'ai') return 'assistant';
  if (role === 'tool' || role === 'function' || role === 'ipython') return 'tool';
  return 'user';
}

/** Content as a list of parts (AI SDK, OpenAI and semantic-convention shapes) or a string → parts. */
function partsOf(content: unknown, role: MessageRole, toolCallId: string | null = null): MessagePart[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') {
    if (role === 'tool') return [{ type: 'tool_call_response', id: toolCallId, response: content }];
    return content === '' ? [] : [{ type: 'text', content }];
  }
  if (!Array.isArray(content)) return [{ type: 'text', content: textOf(content) }];
  const parts: MessagePart[] = [];
  for (const p of content) {
    if (typeof p === 'string') {
      parts.push({ type: 'text', content: p });
      continue;
    }
    if (!isObj(p)) continue;
    const type = String(p.type ?? 'text');
    if (type === 'text' || type === 'input_text' || type === 'output_text') {
      parts.push({ type: 'text', content: textOf(p.content ?? p.text) });
    } else if (type === 'reasoning' || type === 'thinking') {
      parts.push({ type: 'reasoning', content: textOf(p.content ?? p.text ?? p.thinking) });
    } else if (type === 'tool_call' || type === 'tool-call' || type === 'function_call' || type === 'tool_use') {
      parts.push({
        type: 'tool_call',
        id: (p.id ?? p.toolCallId ?? p.call_id ?? null) as string | null,
        name: textOf(p.name ?? p.toolName),
        arguments: textOf(p.arguments ?? p.input ?? p.args ?? {}),
      });
    } else if (type === 'tool_call_response' || type === 'tool-result' || type === 'tool_result') {
      const output = p.response ?? p.output ?? p.result ?? p.content;
      // AI SDK 5 wraps a tool output as { type: 'text' | 'json', value }
      const value = isObj(output) && 'value' in output && 'type' in output ? output.value : output;
      parts.push({
        type: 'tool_call_response',
        id: (p.id ?? p.toolCallId ?? p.tool_use_id ?? null) as string | null,
        response: textOf(value),
      });
    }
    // images, files and other media are not messages of the ledger: left out (they stay in the span)
  }
  return parts;
}

/** One message object of any of the JSON shapes (semantic conventions, OpenAI chat, AI SDK). */
function messageOf(m: unknown): ChatMessage | null {
  if (!isObj(m)) return null;
  const role = roleOf(m.role);
  const toolCallId = (m.tool_call_id ?? m.toolCallId ?? m.id ?? null) as string | null;
  const parts = Array.isArray(m.parts) ? partsOf(m.parts, role) : partsOf(m.content, role, toolCallId);
  // OpenAI chat shape: tool_calls beside the content
  if (Array.isArray(m.tool_calls)) {
    for (const call of m.tool_calls) {
      if (!isObj(call)) continue;
      const fn = isObj(call.function) ? call.function : call;
      parts.push({
        type: 'tool_call',
        id: (call.id ?? null) as string | null,
        name: textOf(fn.name),
        arguments: textOf(fn.arguments ?? {}),
      });
    }
  }
  return { role, parts };
}

function messageList(value: Json, what: string): ChatMessage[] {
  if (!Array.isArray(value)) throw new SpanDataError('invalid_messages', `${what} is not a list of messages`);
  return value.map(messageOf).filter((m): m is ChatMessage => m !== null);
}

/** Attributes `<prefix>.<n>.<rest>` grouped by n, in index order. */
function indexed(attributes: SpanAttributes, prefix: string): Record<string, string>[] {
  const groups = new Map<number, Record<string, string>>();
  const start = `${prefix}.`;
  for (const key in attributes) {
    if (!key.startsWith(start)) continue;
    const dot = key.indexOf('.', start.length);
    if (dot < 0) continue;
    const n = Number(key.slice(start.length, dot));
    if (!Number.isInteger(n) || n < 0) continue;
    let group = groups.get(n);
    if (!group) {
      group = {};
      groups.set(n, group);
    }
    group[key.slice(dot + 1)] = attributes[key] as string;
  }
  return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => g);
}

/** OpenLLMetry's content: a string, or (the JS instrumentations) a JSON list of parts. */
function indexedContent(content: string | undefined): unknown {
  if (content === undefined) return undefined;
  if (content.startsWith('[{')) {
    try {
      return JSON.parse(content);
    } catch {
      return content;
    }
  }
  return content;
}

/** OpenLLMetry: gen_ai.prompt.N.role / .content / .tool_call_id / .tool_calls.M.{id,name,arguments}. */
function openLlmetryMessages(attributes: SpanAttributes, prefix: string): ChatMessage[] {
  return indexed(attributes, prefix).map((g) => {
    const role = roleOf(g.role ?? (prefix.endsWith('completion') ? 'assistant' : 'user'));
    const parts = partsOf(indexedContent(g.content), role, g.tool_call_id ?? null);
    for (const call of indexed(g, 'tool_calls')) {
      parts.push({ type: 'tool_call', id: call.id ?? null, name: call.name ?? '', arguments: call.arguments ?? '{}' });
    }
    if (g['function_call.name'] !== undefined) {
      parts.push({
        type: 'tool_call',
        id: null,
        name: g['function_call.name'],
        arguments: g['function_call.arguments'] ?? '{}',
      });
    }
    return { role, parts };
  });
}

/** OpenInference: llm.input_messages.N.message.{role,content,contents.M.message_content.*,tool_calls.M.tool_call.*}. */
function openInferenceMessages(attributes: SpanAttributes, prefix: string): ChatMessage[] {
  return indexed(attributes, prefix).map((g) => {
    const role = roleOf(g['message.role']);
    const toolCallId = g['message.tool_call_id'] ?? null;
    const parts: MessagePart[] = partsOf(g['message.content'], role, toolCallId);
    const contents: unknown[] = [];
    for (const c of indexed(g, 'message.contents')) {
      const type = c['message_content.type'] ?? 'text';
      if (type === 'text') contents.push({ type: 'text', text: c['message_content.text'] ?? '' });
    }
    parts.push(...partsOf(contents, role, toolCallId));
    for (const call of indexed(g, 'message.tool_calls')) {
      parts.push({
        type: 'tool_call',
        id: call['tool_call.id'] ?? null,
        name: call['tool_call.function.name'] ?? '',
        arguments: call['tool_call.function.arguments'] ?? '{}',
      });
    }
    return { role, parts };
  });
}

const EVENT_ROLES: Record<string, MessageRole> = {
  'gen_ai.system.message': 'system',
  'gen_ai.user.message': 'user',
  'gen_ai.assistant.message': 'assistant',
  'gen_ai.tool.message': 'tool',
};

/** The gen_ai.*.message and gen_ai.choice events (their body in `gen_ai.event.content` as JSON, or `content`). */
function eventMessages(row: SpanRow): { input: ChatMessage[]; output: ChatMessage[] } {
  const input: ChatMessage[] = [];
  const output: ChatMessage[] = [];
  for (const event of row.events) {
    const a = event.attributes;
    const bodyText = a['gen_ai.event.content'];
    const body = bodyText === undefined ? null : parseJson(bodyText, `the ${event.name} event's gen_ai.event.content`);
    const role = EVENT_ROLES[event.name];
    if (role) {
      const fields = isObj(body) ? body : { content: a.content ?? body, id: a.id, tool_calls: undefined };
      const message = messageOf({ ...fields, role });
      if (message) input.push(message);
    } else if (event.name === 'gen_ai.choice') {
      const choice = isObj(body)
        ? body
        : { message: a.message === undefined ? undefined : parseJson(a.message, "the gen_ai.choice event's message") };
      const message = messageOf({ role: 'assistant', ...(isObj(choice.message) ? choice.message : {}) });
      if (message) output.push(message);
    } else if (event.name === 'gen_ai.content.prompt' && a['gen_ai.prompt'] !== undefined) {
      input.push(...legacyJson(a['gen_ai.prompt'], 'user', 'gen_ai.prompt'));
    } else if (event.name === 'gen_ai.content.completion' && a['gen_ai.completion'] !== undefined) {
      output.push(...legacyJson(a['gen_ai.completion'], 'assistant', 'gen_ai.completion'));
    }
  }
  return { input, output };
}

/** The deprecated gen_ai.prompt / gen_ai.completion: a JSON list of messages, or plain text. */
function legacyJson(text: string, role: MessageRole, what: string): ChatMessage[] {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('[') && !trimmed.startsWith('{')) return [{ role, parts: partsOf(text, role) }];
  const value = parseJson(text, what);
  return Array.isArray(value)
    ? messageList(value, what)
    : [messageOf({ role, ...(value as Obj) })].filter((m): m is ChatMessage => m !== null);
}

/** The AI SDK's ai.prompt (outer spans): `{ system?, prompt?, messages? }`. */
function aiSdkPrompt(text: string): ChatMessage[] {
  const value = parseJson(text, 'ai.prompt');
  if (!isObj(value)) throw new SpanDataError('invalid_messages', 'ai.prompt is not an object');
  const messages: ChatMessage[] = [];
  if (typeof value.system === 'string') messages.push({ role: 'system', parts: partsOf(value.system, 'system') });
  if (Array.isArray(value.messages)) messages.push(...messageList(value.messages, 'ai.prompt.messages'));
  if (value.prompt !== undefined && value.prompt !== null) {
    messages.push(
      ...(Array.isArray(value.prompt)
        ? messageList(value.prompt, 'ai.prompt')
        : [{ role: 'user' as const, parts: partsOf(value.prompt, 'user') }]),
    );
  }
  return messages;
}

/** The AI SDK's output: ai.response.reasoning, ai.response.text and ai.response.toolCalls as one assistant message. */
function aiSdkResponse(a: SpanAttributes): ChatMessage[] {
  const parts: MessagePart[] = [];
  const reasoning = a['ai.response.reasoning'];
  if (reasoning) parts.push({ type: 'reasoning', content: reasoning });
  const text = a['ai.response.text'] ?? a['ai.response.object'];
  if (text) parts.push({ type: 'text', content: text });
  const calls = a['ai.response.toolCalls'];
  if (calls !== undefined) {
    const list = parseJson(calls, 'ai.response.toolCalls');
    if (!Array.isArray(list)) throw new SpanDataError('invalid_messages', 'ai.response.toolCalls is not a list');
    for (const call of list) {
      if (!isObj(call)) continue;
      parts.push({
        type: 'tool_call',
        id: (call.toolCallId ?? null) as string | null,
        name: textOf(call.toolName),
        arguments: textOf(call.input ?? call.args ?? {}),
      });
    }
  }
  return parts.length ? [{ role: 'assistant', parts }] : [];
}

function systemInstructions(text: string | undefined): ChatMessage[] {
  if (text === undefined) return [];
  const value = parseJson(text, 'gen_ai.system_instructions');
  const parts = partsOf(Array.isArray(value) ? value : textOf(value), 'system');
  return parts.length ? [{ role: 'system', parts }] : [];
}

/** The span's input and output messages, from the first convention that has them (each side on its own). */
export function readSpanMessages(row: SpanRow): { input: ChatMessage[]; output: ChatMessage[] } {
  const a = row.spanAttributes;
  let input: ChatMessage[] = [];
  let output: ChatMessage[] = [];
  if (a['gen_ai.input.messages'] !== undefined) {
    input = [
      ...systemInstructions(a['gen_ai.system_instructions']),
      ...messageList(parseJson(a['gen_ai.input.messages'], 'gen_ai.input.messages'), 'gen_ai.input.messages'),
    ];
  } else if (a['ai.prompt.messages'] !== undefined) {
    input = messageList(parseJson(a['ai.prompt.messages'], 'ai.prompt.messages'), 'ai.prompt.messages');
  } else if (a['ai.prompt'] !== undefined) {
    input = aiSdkPrompt(a['ai.prompt']);
  } else if (a['llm.input_messages.0.message.role'] !== undefined || hasPrefix(a, 'llm.input_messages.')) {
    input = openInferenceMessages(a, 'llm.input_messages');
  } else if (hasPrefix(a, 'gen_ai.prompt.')) {
    input = openLlmetryMessages(a, 'gen_ai.prompt');
  } else if (a['gen_ai.prompt'] !== undefined) {
    input = legacyJson(a['gen_ai.prompt'], 'user', 'gen_ai.prompt');
  }
  if (a['gen_ai.output.messages'] !== undefined) {
    output = messageList(parseJson(a['gen_ai.output.messages'], 'gen_ai.output.messages'), 'gen_ai.output.messages');
  } else if (
    a['ai.response.text'] !== undefined ||
    a['ai.response.toolCalls'] !== undefined ||
    a['ai.response.object'] !== undefined
  ) {
    output = aiSdkResponse(a);
  } else if (hasPrefix(a, 'llm.output_messages.')) {
    output = openInferenceMessages(a, 'llm.output_messages');
  } else if (hasPrefix(a, 'gen_ai.completion.')) {
    output = openLlmetryMessages(a, 'gen_ai.completion');
  } else if (a['gen_ai.completion'] !== undefined) {
    output = legacyJson(a['gen_ai.completion'], 'assistant', 'gen_ai.completion');
  }
  if ((!input.length || !output.length) && row.events.length) {
    const events = eventMessages(row);
    if (!input.length) input = events.input;
    if (!output.length) output = events.output;
  }
  return { input, output };
}

function hasPrefix(attributes: SpanAttributes, prefix: string): boolean {
  for (const key in attributes) if (key.startsWith(prefix)) return true;
  return false;
}

/** Finish reasons carried by the output messages (gen_ai.output.messages' finish_reason), for spans without the list. */
export function outputFinishReasons(a: SpanAttributes): string[] {
  const text = a['gen_ai.output.messages'];
  if (text === undefined) return [];
  const value = parseJson(text, 'gen_ai.output.messages');
  return Array.isArray(value)
    ? value.flatMap((m) => (isObj(m) && typeof m.finish_reason === 'string' ? [m.finish_reason] : []))
    : [];
}
