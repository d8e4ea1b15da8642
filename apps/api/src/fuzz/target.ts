/**
 * What the fuzz suite sends to one tRPC procedure or `/v1` route. The targets, one generator each (the coverage test
 * fails when one is missing), live by family: run-targets, step-targets, message-targets, provider-trace-targets
 * (gathered by trpc-targets), rest-targets and otlp-target.
 */
import type fc from 'fast-check';
import type { Answer } from './fuzz-client.ts';
import type { Generated } from './generated.ts';
import type { FuzzState } from './reads.ts';

export interface Target {
  gen: fc.Arbitrary<Generated>;
  /** Paths (in the generated input) of ids that must exist: other organizations' and unknown ids → 404. */
  lookups: string[];
  send(s: FuzzState, input: unknown): Promise<Answer>;
  /** After a 2xx answer: the reads of what was written (throws ReadBackError). */
  after?(s: FuzzState, input: unknown, answer: Answer): Promise<void>;
  /** REST (422/400 `detail`) rather than tRPC (error `data.field`). */
  rest: boolean;
}

/** A key of a generated input (an object, unless the input is junk). */
export const field = (value: unknown, key: string) => (value as Record<string, unknown>)[key];
