import type { MessageInput } from '../../messages/letta-message.ts';
import type { ChatMessage } from './gen-ai-span.ts';

/** A message to record, without its id (the recorder derives ids from the span and the tool call). */
export type MappedMessage = MessageInput & {
  /** The tool call this message belongs to, when it is a tool call or return: its id is keyed by the call. */
  toolCallKey?: { callId: string; side: 'call' | 'return' };
};

/**
 * Conversation messages (semantic-convention shape) → the ledger's Letta messages: text → assistant/user/system
 * messages, reasoning → reasoning_message, tool calls → one tool_call_message each, tool results →
 * tool_return_message.
 */
export function lettaMessagesOf(messages: ChatMessage[], date: string): MappedMessage[] {
  const out: MappedMessage[] = [];
  for (const message of messages) {
    const text = message.parts.flatMap((p) => (p.type === 'text' ? [p.content] : [])).join('');
    if (message.role === 'system') {
      if (text) out.push({ messageType: 'system_message', content: text, date });
      continue;
    }
    for (const part of message.parts) {
      if (part.type === 'reasoning' && part.content) {
        out.push({ messageType: 'reasoning_message', reasoning: part.content, source: 'reasoner_model', date });
      }
    }
    if (text) {
      const messageType = message.role === 'assistant' ? 'assistant_message' : 'user_message';
      out.push({ messageType, content: text, date });
    }
    for (const part of message.parts) {
      if (part.type === 'tool_call') {
        out.push({
          messageType: 'tool_call_message',
          toolCall: { name: part.name, arguments: part.arguments, toolCallId: part.id },
          date,
          ...(part.id ? { toolCallKey: { callId: part.id, side: 'call' as const } } : {}),
        });
      } else if (part.type === 'tool_call_response') {
        out.push({
          messageType: 'tool_return_message',
          toolReturn: part.response,
          status: 'success',
          toolCallId: part.id ?? '',
          date,
          ...(part.id ? { toolCallKey: { callId: part.id, side: 'return' as const } } : {}),
        });
      }
    }
  }
  return out;
}

/**
 * The input messages an LLM call adds to its run: those after the last assistant message (the new user input or tool
 * results); the history before it was recorded by the call that produced it.
 */
export function newInputMessages(input: ChatMessage[]): ChatMessage[] {
  let last = -1;
  input.forEach((m, i) => {
    if (m.role === 'assistant') last = i;
  });
  return input.slice(last + 1);
}
