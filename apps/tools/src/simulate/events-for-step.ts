import type { RouterInputs } from '@runtrace/client';
import type { SampleCall } from '../provider-samples.ts';
import type { Random } from '../random.ts';
import type { MessageInput } from './messages-for-step.ts';

export type EventInput = RouterInputs['runs']['appendEvents']['events'][number];

/** Text cut into token-like chunks of one to three words (with their spaces), as a model streams it. */
function chunksOf(text: string, rnd: Random): string[] {
  const words = text.match(/\S+\s*/g) ?? [];
  const chunks: string[] = [];
  for (let i = 0; i < words.length; ) {
    const n = rnd.int(1, 3);
    chunks.push(words.slice(i, i + n).join(''));
    i += n;
  }
  return chunks.length ? chunks : [text];
}

/**
 * A step's stream: reasoning and assistant text as chunks sharing their message's id (each chunk carries its delta,
 * as Letta streams tokens), tool calls and returns whole, and an error_message when the provider call failed.
 */
export function eventsForStep(
  messages: MessageInput[],
  o: { failsLlm: boolean; sample: SampleCall; rnd: Random },
): EventInput[][] {
  const groups: EventInput[][] = [];
  for (const m of messages) {
    const common = { id: m.id, stepId: m.stepId, otid: m.otid };
    switch (m.messageType) {
      case 'reasoning_message':
        groups.push(
          chunksOf(m.reasoning, o.rnd).map((reasoning) => ({
            messageType: 'reasoning_message',
            ...common,
            reasoning,
            source: m.source,
          })),
        );
        break;
      case 'assistant_message': {
        const text =
          typeof m.content === 'string' ? m.content : m.content.map((p) => ('text' in p ? p.text : '')).join('');
        groups.push(chunksOf(text, o.rnd).map((content) => ({ messageType: 'assistant_message', ...common, content })));
        break;
      }
      case 'tool_call_message':
        groups.push([{ messageType: 'tool_call_message', ...common, toolCall: m.toolCall }]);
        break;
      case 'tool_return_message':
        groups.push([
          {
            messageType: 'tool_return_message',
            ...common,
            toolReturn: m.toolReturn,
            status: m.status,
            toolCallId: m.toolCallId,
            isErr: m.isErr,
            stderr: m.stderr,
          },
        ]);
        break;
      default:
        break; // the user's turn is not streamed back
    }
  }
  if (o.failsLlm) {
    groups.push([
      {
        messageType: 'error_message',
        errorType: 'llm_error',
        message: o.sample.error?.type ? `The provider answered ${o.sample.error.type}` : 'The provider call failed',
        detail: null,
      },
    ]);
  }
  return groups;
}
