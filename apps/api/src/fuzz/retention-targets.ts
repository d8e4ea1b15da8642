import fc from 'fast-check';
import { ok, same } from './reads.ts';
import { field, type Target } from './target.ts';
import { noInput } from './target-arbitraries.ts';
import { trpc } from './trpc-target.ts';

/** `days` as retention.set accepts it: a whole number of days (edges included), `off`, or null (the default). */
const days = fc.oneof(
  fc.constant('off'),
  fc.constant(null),
  fc.constantFrom(1, 36_500),
  fc.integer({ min: 1, max: 36_500 }),
);

/** The generators of the `retention.*` procedures. */
export function retentionTargets(): [string, Target][] {
  return [
    trpc('query', 'retention.get', noInput),
    trpc(
      'mutation',
      'retention.set',
      { required: { days } },
      {
        async after(s, input) {
          const read = ok(await s.client.trpc('query', 'retention.get', undefined), 'retention.get') as {
            override: unknown;
          };
          same(read.override, field(input, 'days'), 'retention.get().override');
        },
      },
    ),
  ];
}
