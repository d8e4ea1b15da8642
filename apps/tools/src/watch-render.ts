/**
 * How `pnpm watch-run` prints a run's live events: token chunks of one message inline as they arrive, every other
 * event on a line of its own. Pure (state in, text out), so the CLI stays a thin loop.
 */

/** The fields of a streamed event the renderer reads (a RunEvent of any type, with its position). */
export interface RenderableEvent {
  messageType: string;
  seqId?: number;
  id?: string | undefined;
  [key: string]: unknown;
}

export interface RenderState {
  /** `messageType:id` of the message whose chunks are being printed inline, if any. */
  open: string | null;
}

export interface RenderStyle {
  dim(text: string): string;
  bold(text: string): string;
  color(text: string, color: 'cyan' | 'green' | 'yellow' | 'red' | 'magenta'): string;
}

export const plainStyle: RenderStyle = { dim: (t) => t, bold: (t) => t, color: (t) => t };

const CODES = { cyan: 36, green: 32, yellow: 33, red: 31, magenta: 35 } as const;
export const ansiStyle: RenderStyle = {
  dim: (t) => `\u001b[2m${t}\u001b[22m`,
  bold: (t) => `\u001b[1m${t}\u001b[22m`,
  color: (t, c) => `\u001b[${CODES[c]}m${t}\u001b[39m`,
};

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (typeof part === 'object' && part && 'text' in part ? String(part.text) : ''))
      .join('');
  }
  return '';
}

function truncate(text: string, max = 200): string {
  const oneLine = text.replaceAll(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/** The text to write for `event` (no trailing newline after inline chunks), updating `state`. */
export function renderEvent(event: RenderableEvent, state: RenderState, style: RenderStyle = plainStyle): string {
  const seq = style.dim(`#${event.seqId ?? '?'}`);
  const inline = (key: string, label: string, delta: string, paint: (t: string) => string) => {
    if (state.open === key) return paint(delta);
    const head = `${state.open ? '\n' : ''}${seq} ${label} `;
    state.open = key;
    return head + paint(delta);
  };
  const line = (text: string) => {
    const head = state.open ? '\n' : '';
    state.open = null;
    return `${head}${seq} ${text}\n`;
  };
  const e = event;
  switch (e.messageType) {
    case 'assistant_message':
      return inline(`assistant:${e.id ?? ''}`, style.bold('assistant:'), textOf(e.content), (t) => t);
    case 'reasoning_message':
      return inline(
        `reasoning:${e.id ?? ''}`,
        style.color('reasoning:', 'magenta'),
        String(e.reasoning ?? ''),
        style.dim,
      );
    case 'hidden_reasoning_message':
      return line(style.dim(`(hidden reasoning: ${String(e.state)})`));
    case 'tool_call_message':
    case 'approval_request_message': {
      const call = (e.toolCall ?? {}) as { name?: string; arguments?: string; toolCallId?: string };
      const what = e.messageType === 'approval_request_message' ? 'approval requested for' : 'tool call';
      return line(style.color(`→ ${what} ${call.name ?? '?'}(${truncate(call.arguments ?? '', 160)})`, 'cyan'));
    }
    case 'tool_return_message': {
      const ok = e.status === 'success';
      return line(
        style.color(`← ${ok ? 'returned' : 'failed'}: ${truncate(String(e.toolReturn ?? ''))}`, ok ? 'green' : 'red'),
      );
    }
    case 'approval_response_message':
      return line(
        style.color(`approval ${e.approve ? 'granted' : 'denied'}${e.reason ? `: ${String(e.reason)}` : ''}`, 'yellow'),
      );
    case 'stop_reason':
      return line(
        style.bold(
          style.color(`■ stop reason: ${String(e.stopReason)}`, e.stopReason === 'end_turn' ? 'green' : 'yellow'),
        ),
      );
    case 'usage_statistics':
      return line(
        style.dim(
          `usage: ${e.promptTokens ?? 0} prompt + ${e.completionTokens ?? 0} completion = ${e.totalTokens ?? 0} tokens, ` +
            `${e.stepCount ?? 0} step${e.stepCount === 1 ? '' : 's'}`,
        ),
      );
    case 'error_message':
      return line(style.color(`error (${String(e.errorType)}): ${String(e.message ?? '')}`, 'red'));
    default:
      return line(truncate(JSON.stringify(e)));
  }
}

/** What to print when the stream is over: closes an inline message. */
export function renderEnd(state: RenderState): string {
  const head = state.open ? '\n' : '';
  state.open = null;
  return head;
}
