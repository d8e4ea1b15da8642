import type { Message, RunEvent } from './types.ts';

type Content = string | readonly { type: string; text?: unknown }[];

function contentText(content: Content): string {
  if (typeof content === 'string') return content;
  return content.map((part) => (typeof part.text === 'string' ? part.text : `[${part.type}]`)).join('');
}

type ToolCall = { name?: string | null; arguments?: string | null } | null | undefined;

/**
 * Stored messages and streamed events share their bodies by kind; the stored type (an Omit over core's union) lost
 * its discriminated fields, so both are read as this union.
 */
type Displayed = RunEvent | { messageType: 'system_message' | 'user_message'; content: Content };

/** The text a message (stored) or a message chunk (streamed) shows: its content, reasoning, tool call, return … */
export function messageText(stored: Message | RunEvent): string {
  const message = stored as Displayed;
  switch (message.messageType) {
    case 'system_message':
    case 'user_message':
    case 'assistant_message':
      return contentText(message.content as Content);
    case 'reasoning_message':
      return message.reasoning;
    case 'hidden_reasoning_message':
      return message.hiddenReasoning ?? `(${message.state})`;
    case 'tool_call_message':
    case 'approval_request_message':
      return toolCallText(message.toolCall as ToolCall);
    case 'tool_return_message':
      return message.toolReturn;
    case 'approval_response_message':
      return `${message.approve ? 'approved' : 'denied'}${message.reason ? `: ${message.reason}` : ''}`;
    case 'error_message':
      return `${message.errorType}: ${message.message}`;
    case 'stop_reason':
      return message.stopReason;
    case 'usage_statistics':
      return `${message.promptTokens} prompt + ${message.completionTokens} completion tokens, ${message.stepCount} steps`;
  }
}

/** A chunk of a tool call carries its name once and a piece of its arguments: the name is shown once. */
function toolCallText(call: ToolCall): string {
  if (!call) return '';
  return `${call.name ? `${call.name}(` : ''}${call.arguments ?? ''}`;
}

/** A short label of a message kind: `assistant_message` → `assistant`. */
export function kindLabel(messageType: string): string {
  return messageType.replace(/_message$/, '').replaceAll('_', ' ');
}
