import { z } from 'zod';
import { RUN_STATUSES, type RunStatus, STOP_REASONS, type StopReason } from './names.ts';

export { RUN_STATUSES, type RunStatus, STOP_REASONS, type StopReason };
export const TERMINAL_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'cancelled'];
export const ACTIVE_STATUSES: readonly RunStatus[] = ['created', 'running'];

export const runStatusSchema = z.enum(RUN_STATUSES);
export const stopReasonSchema = z.enum(STOP_REASONS);

/** Letta's canonical `StopReasonType.run_status` (letta-behavior §11.2). */
const STATUS_OF_STOP_REASON: Record<StopReason, RunStatus> = {
  end_turn: 'completed',
  max_steps: 'completed',
  tool_rule: 'completed',
  requires_approval: 'completed',
  error: 'failed',
  invalid_tool_call: 'failed',
  no_tool_call: 'failed',
  invalid_llm_response: 'failed',
  llm_api_error: 'failed',
  max_tokens_exceeded: 'failed',
  context_window_overflow_in_system_prompt: 'failed',
  cancelled: 'cancelled',
};

export function statusForStopReason(reason: StopReason): RunStatus {
  return STATUS_OF_STOP_REASON[reason];
}

export function isTerminal(status: string): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/**
 * CONTRACTS §5: created → running → terminal; created may go straight to a terminal status; a terminal run accepts
 * only the same status again, or completed(requires_approval) → cancelled.
 * @returns null when allowed, otherwise why not.
 */
export function transitionError(from: RunStatus, fromStopReason: string | null, to: RunStatus): string | null {
  if (from === to) return null;
  if (from === 'created') return null;
  if (from === 'running') return to === 'created' ? 'a running run cannot go back to created' : null;
  if (from === 'completed' && to === 'cancelled' && fromStopReason === 'requires_approval') return null;
  return `run is already ${from}; it cannot become ${to}`;
}
