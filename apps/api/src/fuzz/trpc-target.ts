import fc from 'fast-check';
import { type Generated, inputsOf, type Shape } from './generated.ts';
import type { Target } from './target.ts';

type TrpcType = 'query' | 'mutation' | 'subscription';

/** A tRPC procedure's target: inputs of `gen` (a shape mutated by inputsOf, or its own arbitrary), sent as `type`. */
export function trpc(
  type: TrpcType,
  path: string,
  gen: Shape | fc.Arbitrary<Generated>,
  options: { lookups?: string[]; after?: Target['after']; valid?: number } = {},
): [string, Target] {
  return [
    path,
    {
      gen: gen instanceof fc.Arbitrary ? gen : inputsOf(gen, { valid: options.valid }),
      lookups: options.lookups ?? [],
      send: (s, input) => s.client.trpc(type, path, input),
      after: options.after,
      rest: false,
    },
  ];
}
