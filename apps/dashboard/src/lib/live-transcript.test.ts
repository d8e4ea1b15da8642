import { describe, expect, it } from 'vitest';
import { LiveTranscript, type StreamedEvent } from './live-transcript.ts';

let seq = 0;
const ev = (event: Record<string, unknown>, seqId = ++seq) =>
  ({ runId: 'run-1', seqId, ...event }) as unknown as StreamedEvent;

describe('the live transcript', () => {
  it('concatenates the chunks of one message and keeps messages in stream order', () => {
    seq = 0;
    const t = new LiveTranscript();
    t.apply(ev({ messageType: 'reasoning_message', id: 'm1', reasoning: 'The user ' }));
    t.apply(ev({ messageType: 'assistant_message', id: 'm2', content: 'Hel' }));
    t.apply(ev({ messageType: 'reasoning_message', id: 'm1', reasoning: 'asks.' }));
    t.apply(ev({ messageType: 'assistant_message', id: 'm2', content: [{ type: 'text', text: 'lo' }] }));
    t.apply(ev({ messageType: 'tool_call_message', id: 'm3', toolCall: { name: 'web_search', arguments: '{"q":' } }));
    t.apply(ev({ messageType: 'tool_call_message', id: 'm3', toolCall: { arguments: '"x"}' } }));
    t.apply(ev({ messageType: 'tool_return_message', id: 'm3', toolReturn: 'ok', status: 'success', toolCallId: 'c' }));
    t.apply(ev({ messageType: 'stop_reason', stopReason: 'end_turn' }));
    t.apply(
      ev({ messageType: 'usage_statistics', promptTokens: 3, completionTokens: 2, totalTokens: 5, stepCount: 1 }),
    );
    expect(t.messages.map((m) => [m.kind, m.text, m.chunks])).toEqual([
      ['reasoning_message', 'The user asks.', 2],
      ['assistant_message', 'Hello', 2],
      ['tool_call_message', 'web_search({"q":"x"}', 2],
      ['tool_return_message', 'ok', 1],
      ['stop_reason', 'end_turn', 1],
    ]);
    expect(t.stopReason).toBe('end_turn');
    expect(t.usage?.totalTokens).toBe(5);
    expect(t.events).toBe(9);
    expect(t.lastSeq).toBe(9);
  });

  it('ignores and counts an event at or below the last position (a repeat after a reconnect)', () => {
    const t = new LiveTranscript();
    expect(t.apply(ev({ messageType: 'assistant_message', id: 'm', content: 'a' }, 1))).toBe(true);
    expect(t.apply(ev({ messageType: 'assistant_message', id: 'm', content: 'b' }, 2))).toBe(true);
    expect(t.apply(ev({ messageType: 'assistant_message', id: 'm', content: 'b' }, 2))).toBe(false);
    expect(t.apply(ev({ messageType: 'assistant_message', id: 'm', content: 'a' }, 1))).toBe(false);
    expect(t.apply(ev({ messageType: 'assistant_message', id: 'm', content: 'c' }, 3))).toBe(true);
    expect(t.messages[0]?.text).toBe('abc');
    expect(t.duplicates).toBe(2);
    expect(t.messages[0]?.version).toBe(2);
  });
});
