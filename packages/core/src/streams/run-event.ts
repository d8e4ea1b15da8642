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

/**
 * The JSON text of streamed events, as `JSON.stringify` writes it, for the stores that read events as JSON anyway
 * (Redis): the text is kept rather than serialized again for every delivery. Keyed by a symbol that JSON and
 * structured clones ignore; the property is not enumerable, so a spread copy of an event does not carry it.
 */
const SERIALIZED = Symbol('runtrace.serializedRunEvent');

/**
 * `event` (`JSON.stringify(data)` parsed) with `runId` and `seqId` set, as a store delivers it, remembering its JSON:
 * the stored text with the two keys added at the end, as `JSON.stringify({ ...parsed, runId, seqId })` writes them
 * (stored events never hold either key: the schema is strict).
 */
export function streamedRunEvent(data: string, runId: string, seqId: number): StreamedRunEvent {
  // Set on the parsed object, not spread into a new one: a spread copy cost twice the parse (this runs per event).
  const event = JSON.parse(data) as StreamedRunEvent;
  event.runId = runId;
  event.seqId = seqId;
  const tail = `"runId":${JSON.stringify(runId)},"seqId":${seqId}}`;
  const json = data.length > 2 ? `${data.slice(0, -1)},${tail}` : `{${tail}`;
  Object.defineProperty(event, SERIALIZED, { value: json });
  return event;
}

/** The JSON a store kept for a streamed event (see {@link streamedRunEvent}); undefined for any other value. */
export function serializedRunEvent(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null
    ? ((value as Record<symbol, string | undefined>)[SERIALIZED] ?? undefined)
    : undefined;
}
