import { z } from 'zod';
import { timestampInputSchema } from '../time.ts';

/** Letta's message kinds (LettaMessage union, camelCased), as stored and listed per run. */
export const MESSAGE_TYPES = [
  'system_message',
  'user_message',
  'assistant_message',
  'reasoning_message',
  'hidden_reasoning_message',
  'tool_call_message',
  'tool_return_message',
  'approval_request_message',
  'approval_response_message',
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];
export const messageTypeSchema = z.enum(MESSAGE_TYPES);

const contentPart = z.looseObject({ type: z.string() });
/** Letta's message content: a string or a list of typed parts (text, image, …). */
export const messageContentSchema = z.union([z.string(), z.array(contentPart)]);

export const toolCallSchema = z.strictObject({
  name: z.string().nullish(),
  arguments: z.string().nullish(),
  toolCallId: z.string().nullish(),
});

/** Fields particular to each message type; everything else is common to all. */
export const messageBodies = {
  system_message: { content: z.string() },
  user_message: { content: messageContentSchema },
  assistant_message: { content: messageContentSchema },
  reasoning_message: {
    reasoning: z.string(),
    source: z.enum(['reasoner_model', 'non_reasoner_model']).nullish(),
    signature: z.string().nullish(),
  },
  hidden_reasoning_message: { state: z.enum(['redacted', 'omitted']), hiddenReasoning: z.string().nullish() },
  tool_call_message: { toolCall: toolCallSchema, toolCalls: z.array(toolCallSchema).nullish() },
  tool_return_message: {
    toolReturn: z.string(),
    status: z.enum(['success', 'error']),
    toolCallId: z.string(),
    stdout: z.array(z.string()).nullish(),
    stderr: z.array(z.string()).nullish(),
  },
  approval_request_message: { toolCall: toolCallSchema, toolCalls: z.array(toolCallSchema).nullish() },
  approval_response_message: {
    approve: z.boolean().nullish(),
    approvalRequestId: z.string().nullish(),
    reason: z.string().nullish(),
  },
} as const satisfies Record<MessageType, z.ZodRawShape>;

export const BODY_KEYS: Record<MessageType, readonly string[]> = Object.fromEntries(
  Object.entries(messageBodies).map(([type, shape]) => [type, Object.keys(shape)]),
) as unknown as Record<MessageType, readonly string[]>;

const commonInput = {
  /** Optional client id (`message-<uuid4>`); generated when absent. */
  id: z.string().optional(),
  /** When the message was produced; defaults to the time of the append. */
  date: timestampInputSchema.optional(),
  name: z.string().nullish(),
  otid: z.string().nullish(),
  senderId: z.string().nullish(),
  stepId: z.string().nullish(),
  isErr: z.boolean().nullish(),
};

function variant<T extends MessageType>(type: T) {
  return z.strictObject({ messageType: z.literal(type), ...commonInput, ...messageBodies[type] });
}

/** One message as appended by `messages.create`. Unknown keys are rejected. */
export const messageInputSchema = z.discriminatedUnion('messageType', [
  variant('system_message'),
  variant('user_message'),
  variant('assistant_message'),
  variant('reasoning_message'),
  variant('hidden_reasoning_message'),
  variant('tool_call_message'),
  variant('tool_return_message'),
  variant('approval_request_message'),
  variant('approval_response_message'),
]);
export type MessageInput = z.infer<typeof messageInputSchema>;

/** A stored message: the input's fields plus its id, run, date and position in the run. */
export type Message = Omit<MessageInput, 'id' | 'date'> & {
  id: string;
  runId: string;
  agentId: string;
  date: string;
  seqId: number;
};

const commonOutput = {
  id: z.string(),
  runId: z.string(),
  agentId: z.string(),
  /** UTC ISO-8601. */
  date: z.string(),
  /** Position in the run, 1-based. */
  seqId: z.number().int(),
  name: z.string().nullable(),
  otid: z.string().nullable(),
  senderId: z.string().nullable(),
  stepId: z.string().nullable(),
  isErr: z.boolean().nullable(),
};

function outputVariant<T extends MessageType>(type: T) {
  return z.object({ messageType: z.literal(type), ...commonOutput, ...messageBodies[type] });
}

/** A stored message as lists answer it (the shape of {@link Message}). */
export const messageSchema = z.discriminatedUnion('messageType', [
  outputVariant('system_message'),
  outputVariant('user_message'),
  outputVariant('assistant_message'),
  outputVariant('reasoning_message'),
  outputVariant('hidden_reasoning_message'),
  outputVariant('tool_call_message'),
  outputVariant('tool_return_message'),
  outputVariant('approval_request_message'),
  outputVariant('approval_response_message'),
]);
