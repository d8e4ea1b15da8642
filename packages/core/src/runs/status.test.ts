import { describe, expect, it } from 'vitest';
import { RUN_STATUSES, STOP_REASONS, statusForStopReason, transitionError } from './status.ts';

describe('run status transitions (CONTRACTS §5)', () => {
  const allowed = new Set([
    'created>created',
    'created>running',
    'created>completed',
    'created>failed',
    'created>cancelled',
    'running>running',
    'running>completed',
    'running>failed',
    'running>cancelled',
    'completed>completed',
    'failed>failed',
    'cancelled>cancelled',
  ]);
  for (const from of RUN_STATUSES) {
    for (const to of RUN_STATUSES) {
      const ok = allowed.has(`${from}>${to}`);
      it(`${from} → ${to} is ${ok ? 'allowed' : 'refused'}`, () => {
        expect(transitionError(from, null, to) === null).toBe(ok);
      });
    }
  }
  it('completed with requires_approval may become cancelled, with another stop reason it may not', () => {
    expect(transitionError('completed', 'requires_approval', 'cancelled')).toBeNull();
    expect(transitionError('completed', 'end_turn', 'cancelled')).toMatch(/already completed/);
    expect(transitionError('completed', 'requires_approval', 'failed')).toMatch(/already completed/);
  });
});

describe('stop reason → status, the canonical mapping', () => {
  it.each([
    ['end_turn', 'completed'],
    ['max_steps', 'completed'],
    ['tool_rule', 'completed'],
    ['requires_approval', 'completed'],
    ['error', 'failed'],
    ['invalid_tool_call', 'failed'],
    ['no_tool_call', 'failed'],
    ['invalid_llm_response', 'failed'],
    ['llm_api_error', 'failed'],
    ['max_tokens_exceeded', 'failed'],
    ['context_window_overflow_in_system_prompt', 'failed'],
    ['cancelled', 'cancelled'],
  ] as const)('%s → %s', (reason, status) => {
    expect(statusForStopReason(reason)).toBe(status);
  });
  it('covers every stop reason', () => {
    expect(STOP_REASONS.length).toBe(12);
  });
});
