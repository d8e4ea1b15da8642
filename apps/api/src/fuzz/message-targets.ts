import fc from 'fast-check';
import { anyDate, idOf, safeString } from './arbitraries.ts';
import { mostlyValid } from './generated.ts';
import { contains, ReadBackError, readRun, readStep, same } from './reads.ts';
import { field, type Target } from './target.ts';
import { bool, content, runId, toolCall } from './target-arbitraries.ts';
import { trpc } from './trpc-target.ts';

const messageCommon = {
  id: idOf('message', { own: 1, other: 1, unknown: 10, malformed: 1 }),
  date: anyDate,
  name: safeString,
  otid: safeString,
  senderId: safeString,
  stepId: idOf('step', { own: 8, other: 1, unknown: 1 }),
  isErr: bool,
};
const message = fc.oneof(
  mostlyValid({ required: { messageType: fc.constant('assistant_message'), content }, optional: messageCommon }),
  mostlyValid({ required: { messageType: fc.constant('user_message'), content }, optional: messageCommon }),
  mostlyValid({
    required: { messageType: fc.constant('system_message'), content: safeString },
    optional: messageCommon,
  }),
  mostlyValid({
    required: { messageType: fc.constant('reasoning_message'), reasoning: safeString },
    optional: messageCommon,
  }),
  mostlyValid({ required: { messageType: fc.constant('tool_call_message'), toolCall }, optional: messageCommon }),
  mostlyValid({
    required: {
      messageType: fc.constant('tool_return_message'),
      toolReturn: safeString,
      status: fc.constantFrom('success', 'error'),
      toolCallId: safeString,
    },
    optional: messageCommon,
  }),
);

/** The generators of the `messages.*` procedures. */
export function messageTargets(): [string, Target][] {
  return [
    trpc(
      'mutation',
      'messages.create',
      { required: { runId, messages: fc.array(message, { minLength: 1, maxLength: 3 }) } },
      {
        lookups: ['runId'],
        valid: 9,
        async after(s, input, answer) {
          const created = answer.data as Record<string, unknown>[];
          for (const m of created)
            if (!s.pools.own.message?.includes(m.id as string)) s.pools.own.message?.push(m.id as string);
          const read = await readRun(s, field(input, 'runId') as string);
          // A run's requestConfig may narrow its message lists to some types.
          const only = (read.run.requestConfig as { includeReturnMessageTypes?: string[] | null } | null)
            ?.includeReturnMessageTypes;
          for (const m of created) {
            if (only && !only.includes(m.messageType as string)) continue;
            const listed = read.messages.items.find((item) => item.id === m.id);
            if (!listed) throw new ReadBackError(`runs.messages does not list ${m.id}`);
            same(listed.date, m.date, `runs.messages date of ${m.id}`);
            contains(read.rest.messages, m.id as string, 'GET /v1/runs/R/messages');
            if (typeof m.stepId === 'string' && s.stepRun.has(m.stepId)) {
              const step = await readStep(s, m.stepId);
              contains(step.rest.messages, m.id as string, 'GET /v1/steps/S/messages');
            }
          }
        },
      },
    ),
  ];
}
