/**
 * The run statuses and stop reasons, in a module of their own without imports: browser frontends (the dashboard)
 * take them from `@runtrace/core/run-names` without pulling in the server side.
 */
export const RUN_STATUSES = ['created', 'running', 'completed', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

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
] as const;
export type StopReason = (typeof STOP_REASONS)[number];
