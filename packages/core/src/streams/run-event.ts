import { z } from 'zod';
import { messageBodies } from '../messages/letta-message.ts';
import { stopReasonSchema } from '../runs/status.ts';
import { timestampInputSchema } from '../time.ts';

/**
 * A RunEvent: one object of Letta's streaming message union, camelCased and discriminated by `messageType`
 * (CONTRACTS §6). Token streaming = several chunks of one message (same `id`), each carrying its delta.
 * One schema serves `runs.appendEvents`, `runs.stream`, the REST replay and the dashboard.
 */
const common = {
  /** The message id; chunks of one streamed message share it. */
  id: z.string().max(200).optional(),
  date: timestampInputSchema.optional(),
  otid: z.string().max(200).nullish(),
  stepId: z.string().max(200).nullish(),
  name: z.string().max(200).nullish(),
  senderId: z.string().max(200).nullish(),
  isErr: z.boolean().nullish(),
};

function messageEvent<T extends keyof typeof messageBodies>(type: T) {
  return z.strictObject({ messageType: z.literal(type), ...common, ...messageBodies[type] });
}

export const RUN_EVENT_TYPES = [
  'reasoning_message',
  'hidden_reasoning_message',
  'assistant_message',
  'tool_call_message',
  'tool_return_message',
  'approval_request_message',
  'approval_response_message',
  'stop_reason',
  'usage_statistics',
  'error_message',
] as const;

export const runEventSchema = z.discriminatedUnion('messageType', [
  messageEvent('reasoning_message'),
  messageEvent('hidden_reasoning_message'),
  messageEvent('assistant_message'),
  messageEvent('tool_call_message'),
  messageEvent('tool_return_message'),
  messageEvent('approval_request_message'),
  messageEvent('approval_response_message'),
  z.strictObject({ messageType: z.literal('stop_reason'), stopReason: stopReasonSchema }),
  z.strictObject({
    messageType: z.literal('usage_statistics'),
    promptTokens: z.number().int().min(0).default(0),
    completionTokens: z.number().int().min(0).default(0),
    totalTokens: z.number().int().min(0).default(0),
    stepCount: z.number().int().min(0).default(0),
    cachedInputTokens: z.number().int().min(0).nullish(),
    cacheWriteTokens: z.number().int().min(0).nullish(),
    reasoningTokens: z.number().int().min(0).nullish(),
  }),
  z.strictObject({
    messageType: z.literal('error_message'),
    ...common,
    /** e.g. `stream_incomplete`, `internal_error`, `llm_error`. */
    errorType: z.string().max(200),
    message: z.string(),
    detail: z.string().nullish(),
  }),
]);
export type RunEvent = z.infer<typeof runEventSchema>;
export type RunEventInput = z.input<typeof runEventSchema>;

/** An event as stored in a stream and delivered to subscribers: the run and the position are filled in. */
export type StreamedRunEvent = RunEvent & {
  runId: string;
  /** Position in the run's stream, 1-based, per stream epoch. */
  seqId: number;
};
