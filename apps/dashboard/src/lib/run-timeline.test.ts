import { describe, expect, it } from 'vitest';
import { firstTokenStepId, runTimeline } from './run-timeline.ts';

const t = (ms: number) => new Date(Date.UTC(2025, 0, 1) + ms).toISOString();
const step = (id: string, at: number) => ({ id, createdAt: t(at) });
const msg = (seqId: number, stepId: string | null, at = seqId * 10) => ({ seqId, stepId, date: t(at) });
const shape = (timeline: ReturnType<typeof runTimeline<ReturnType<typeof step>, ReturnType<typeof msg>>>) =>
  timeline.entries.map((e) => [
    e.kind === 'step' ? `step ${e.number} ${e.step.id}` : 'loose',
    e.messages.map((m) => m.seqId),
  ]);

describe('the run timeline', () => {
  it('numbers steps oldest first, whatever order they came in, and puts each message under its step in run order', () => {
    const steps = [step('s2', 200), step('s1', 100), step('s3', 300)];
    const messages = [msg(5, 's2'), msg(2, 's1'), msg(3, 's1'), msg(4, 's2'), msg(6, 's3')];
    expect(shape(runTimeline(steps, messages, { allSteps: true }))).toEqual([
      ['step 1 s1', [2, 3]],
      ['step 2 s2', [4, 5]],
      ['step 3 s3', [6]],
    ]);
  });

  it('places a message of no step by its position: before the step whose first message follows it', () => {
    const steps = [step('s1', 100), step('s2', 200)];
    const messages = [msg(1, null), msg(2, 's1'), msg(3, 's1'), msg(4, null), msg(5, 's2'), msg(6, null)];
    expect(shape(runTimeline(steps, messages, { allSteps: true }))).toEqual([
      ['loose', [1]],
      ['step 1 s1', [2, 3]],
      ['loose', [4]],
      ['step 2 s2', [5]],
      ['loose', [6]],
    ]);
  });

  it('places a message of no step by time next to a step without messages', () => {
    const steps = [step('s1', 100), step('s2', 200)];
    // s2 has no messages: the loose message recorded at 150 ms goes before it, the one at 250 ms after it.
    const messages = [msg(1, 's1', 90), msg(2, null, 150), msg(3, null, 250)];
    expect(shape(runTimeline(steps, messages, { allSteps: true }))).toEqual([
      ['step 1 s1', [1]],
      ['loose', [2]],
      ['step 2 s2', []],
      ['loose', [3]],
    ]);
  });

  it('shows a message of an unknown step as of no step once every step is loaded', () => {
    const timeline = runTimeline([step('s1', 100)], [msg(1, 's1'), msg(2, 'step-elsewhere')], { allSteps: true });
    expect(shape(timeline)).toEqual([
      ['step 1 s1', [1]],
      ['loose', [2]],
    ]);
    expect(timeline.held).toBe(0);
  });

  it('holds back, while steps are still loading, messages of steps not loaded yet and stray ones past the last step', () => {
    const timeline = runTimeline([step('s1', 100)], [msg(1, 's1'), msg(2, 's2'), msg(3, null, 400)], {
      allSteps: false,
    });
    expect(shape(timeline)).toEqual([['step 1 s1', [1]]]);
    expect(timeline.held).toBe(2);
  });

  it('lists the messages of a run without steps as one group', () => {
    expect(shape(runTimeline([], [msg(2, null), msg(1, null)], { allSteps: false }))).toEqual([['loose', [1, 2]]]);
    expect(runTimeline([], [], { allSteps: true }).entries).toEqual([]);
  });

  it('attributes the run’s time to first token to its first step that did not fail', () => {
    expect(
      firstTokenStepId([
        { id: 'a', status: 'failed', errorType: 'llm_error' },
        { id: 'b', status: 'success', errorType: 'timeout' },
        { id: 'c', status: 'success', errorType: null },
        { id: 'd', status: 'success', errorType: null },
      ]),
    ).toBe('c');
    expect(firstTokenStepId([{ id: 'a', status: 'failed', errorType: null }])).toBeNull();
  });
});
