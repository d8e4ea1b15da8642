import type { RouterInputs, RouterOutputs, RunEvent } from '@runtrace/client';

/** The shapes the dashboard draws, all inferred from the api's router (no hand-written copies). */
export type Run = RouterOutputs['runs']['list']['items'][number];
export type RunStatus = Run['status'];
export type StopReason = NonNullable<Run['stopReason']>;
export type Step = RouterOutputs['runs']['steps']['items'][number];
export type Message = RouterOutputs['runs']['messages']['items'][number];
export type TraceSpan = RouterOutputs['runs']['trace'][number];
export type BackendHealth = RouterOutputs['providerTraces']['health']['backends'][number];
/** `runs.list`'s input without the cursor (the infinite query supplies it); its input type is a union with `{}`. */
export type RunListInput = Omit<Extract<RouterInputs['runs']['list'], { statuses?: unknown }>, 'cursor'>;
export type { RunEvent };

export const RUN_STATUSES = ['created', 'running', 'completed', 'failed', 'cancelled'] as const satisfies readonly RunStatus[];

export const STOP_REASONS = [
  'end_turn',
  'error',
  'llm_api_error',
  'invalid_llm_response',
  'invalid_tool_call',
  'max_steps',
  'max_tokens_exceeded',
  'no_tool_call',
  'tool_rule',
  'cancelled',
  'requires_approval',
  'context_window_overflow_in_system_prompt',
] as const satisfies readonly StopReason[];

// The lists above are copied to keep core (and zod) out of the browser bundle; these fail to compile when the api
// gains a status or stop reason the filters would not offer.
type Missing<All, Listed> = [Exclude<All, Listed>] extends [never] ? true : Exclude<All, Listed>;
export const allStatusesListed: Missing<RunStatus, (typeof RUN_STATUSES)[number]> = true;
export const allStopReasonsListed: Missing<StopReason, (typeof STOP_REASONS)[number]> = true;

export const isActive = (status: RunStatus): boolean => status === 'created' || status === 'running';
