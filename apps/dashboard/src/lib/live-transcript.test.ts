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

describe('the live transcript’s steps and times', () => {
  it('numbers steps as they first appear and marks the first message of each for a divider', () => {
    const t = new LiveTranscript();
    t.apply(ev({ messageType: 'reasoning_message', id: 'r1', stepId: 'step-a', reasoning: 'Think' }, 1));
    t.apply(ev({ messageType: 'assistant_message', id: 'a1', stepId: 'step-a', content: 'Hi' }, 2));
    t.apply(ev({ messageType: 'tool_call_message', id: 'c1', stepId: 'step-b', toolCall: { name: 'f' } }, 3));
    t.apply(ev({ messageType: 'assistant_message', id: 'a1', stepId: 'step-a', content: '!' }, 4));
    t.apply(ev({ messageType: 'stop_reason', stopReason: 'end_turn' }, 5));
    expect(t.messages.map((m) => [m.key, m.step, m.firstOfStep])).toEqual([
      ['reasoning_message:r1', 1, true],
      ['assistant_message:a1', 1, false],
      ['tool_call_message:c1', 2, true],
      ['stop_reason:seq-5', null, false],
    ]);
    expect(t.steps).toBe(2);
  });

  it('times a message by its first chunk: the event’s date, else when it was received; the last event by the latest', () => {
    const t = new LiveTranscript();
    const produced = Date.UTC(2025, 0, 1, 12, 0, 0, 250);
    t.apply(
      ev({ messageType: 'assistant_message', id: 'a', content: 'x', date: new Date(produced).toISOString() }, 1),
      9e12,
    );
    t.apply(ev({ messageType: 'assistant_message', id: 'a', content: 'y' }, 2), produced + 900);
    t.apply(ev({ messageType: 'reasoning_message', id: 'r', reasoning: 'z' }, 3), produced + 1500);
    expect(t.messages.map((m) => m.at)).toEqual([produced, produced + 1500]);
    expect(t.lastEventAt).toBe(produced + 1500);
    // A repeat after a reconnect says nothing about activity.
    t.apply(ev({ messageType: 'reasoning_message', id: 'r', reasoning: 'z' }, 3), produced + 60_000);
    expect(t.lastEventAt).toBe(produced + 1500);
  });
});
