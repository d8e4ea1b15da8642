import fc from 'fast-check';
import { anyDate, idOf, safeString } from './arbitraries.ts';
import { ok, same } from './reads.ts';
import { field, type Target } from './target.ts';
import { bool } from './target-arbitraries.ts';
import { trpc } from './trpc-target.ts';

/** Prices as USD per million tokens: valid decimals (edges included), and near misses. */
const price = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('0', '2.5', '0.075', '0.000001', '999999999999.999999') },
  { weight: 2, arbitrary: fc.nat(1_000_000).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('1.1234567', '-1', '1e3', '', ' 1', '1.', 'NaN', '1000000000000') },
);
const modelName = fc.oneof(fc.constantFrom('gpt-4o-mini', 'claude', 'fuzz-model'), safeString);
/** Patterns: plain, anchored, invalid, catastrophic and too long. */
const modelPattern = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('gpt-4o(-.*)?', '^claude-.*$', 'fuzz-\\d{2}', 'a|b') },
  { weight: 1, arbitrary: fc.constantFrom('(', '(a+)+', '(.*)*x', '\\1', 'x'.repeat(201)) },
  { weight: 1, arbitrary: safeString },
);
const provider = fc.oneof(fc.constantFrom('openai', 'Anthropic', 'google_ai', 'gemini'), safeString, fc.constant(null));
const priceId = idOf('price', { own: 10, other: 2, unknown: 4 });

/** The generators of the `prices.*` procedures. */
export function priceTargets(): [string, Target][] {
  return [
    trpc('query', 'prices.list', { optional: { includeDefaults: bool } }),
    trpc(
      'mutation',
      'prices.upsert',
      {
        required: { effectiveFrom: anyDate, input: price, output: price },
        optional: {
          provider,
          model: modelName,
          modelPattern,
          cachedInput: price,
          cacheWrite: price,
          reasoning: price,
        },
      },
      {
        async after(s, _input, answer) {
          const saved = answer.data as Record<string, unknown>;
          const pool = s.pools.own.price ?? [];
          if (!pool.includes(saved.id as string)) s.pools.own.price = [...pool, saved.id as string];
          const list = ok(await s.client.trpc('query', 'prices.list', {}), 'prices.list') as {
            items: Record<string, unknown>[];
          };
          same(
            list.items.find((p) => p.id === saved.id),
            saved,
            'prices.list',
          );
        },
      },
    ),
    trpc(
      'mutation',
      'prices.delete',
      { required: { priceId } },
      {
        lookups: ['priceId'],
        async after(s, input) {
          const id = field(input, 'priceId') as string;
          s.pools.own.price = (s.pools.own.price ?? []).filter((p) => p !== id);
        },
      },
    ),
    trpc('mutation', 'prices.recompute', {
      required: { from: anyDate, to: anyDate },
      optional: { model: modelName, maxBatches: fc.constantFrom(1, 2) },
    }),
  ];
}
