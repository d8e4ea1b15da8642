import { randomUUID } from 'node:crypto';
import type { RouterInputs } from '@runtrace/client';
import type { SampleCall } from '../provider-samples.ts';
import type { Random } from '../random.ts';
import type { AgentProfile } from './agent-profiles.ts';
import type { Outcome } from './plan-outcomes.ts';

export type MessageInput = RouterInputs['messages']['create']['messages'][number];

export interface StepMessagesOptions {
  step: number;
  stepId: string;
  sample: SampleCall;
  agent: AgentProfile;
  outcome: Outcome;
  last: boolean;
  failsLlm: boolean;
  failsTool: boolean;
  callsTool: boolean;
  rnd: Random;
}

/** Letta's message sequence for one step: the user's turn (first step), reasoning, a tool call and its return, a reply. */
export function messagesForStep(o: StepMessagesOptions): MessageInput[] {
  const { sample, rnd } = o;
  // Each message has its own id and otid (Letta's offline threading id); all share the step. The id is chosen here
  // so that a background run's streamed chunks and the recorded message share it; it is random even with --seed
  // (ids are unique, and a replayed simulation must not collide with the first).
  const common = () => ({ id: `message-${randomUUID()}`, stepId: o.stepId, otid: `otid-${rnd.hex(16)}` });
  const out: MessageInput[] = [];
  if (o.step === 0)
    out.push({ messageType: 'user_message', content: sample.userText, senderId: 'user-simulated', ...common() });
  if (o.failsLlm) return out;
  if (sample.thinking) {
    out.push({
      messageType: 'reasoning_message',
      reasoning: sample.thinking.text,
      source: 'reasoner_model',
      signature: sample.thinking.signature,
      ...common(),
    });
  } else {
    out.push({
      messageType: 'reasoning_message',
      reasoning: `The user asked: "${sample.userText.slice(0, 80)}". ${o.callsTool ? 'I should look this up first.' : 'I can answer now.'}`,
      source: 'non_reasoner_model',
      ...common(),
    });
  }
  if (o.callsTool) {
    const tool = rnd.pick(o.agent.tools);
    const toolCallId = `${sample.providerName === 'openai' ? 'call_' : 'toolu_'}${rnd.hex(12)}`;
    const args = JSON.stringify({ query: sample.userText.split(' ').slice(0, 5).join(' ') });
    out.push({ messageType: 'tool_call_message', toolCall: { name: tool, arguments: args, toolCallId }, ...common() });
    out.push({
      messageType: 'tool_return_message',
      toolReturn: o.failsTool
        ? JSON.stringify({ status: 'Failed', message: `${tool} raised TimeoutError after 30 s` })
        : (sample.toolResult ?? JSON.stringify({ status: 'OK', results: [] })),
      status: o.failsTool ? 'error' : 'success',
      toolCallId,
      isErr: o.failsTool ? true : null,
      stderr: o.failsTool ? ['TimeoutError: tool did not finish within 30 s'] : null,
      ...common(),
    });
  }
  if (o.last && o.outcome === 'end_turn') {
    out.push({ messageType: 'assistant_message', content: sample.text ?? 'Done.', ...common() });
  }
  return out;
}
