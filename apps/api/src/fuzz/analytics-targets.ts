import fc from 'fast-check';
import { anyDate, safeString } from './arbitraries.ts';
import type { Generated, Shape } from './generated.ts';
import { inputsOf, objectOf } from './generated.ts';
import type { Target } from './target.ts';
import { agentId } from './target-arbitraries.ts';
import { trpc } from './trpc-target.ts';

const HOUR = 3_600_000;
/** A range analytics accepts: from a recent instant, up to 366 days long, often on whole hours. */
const range = fc
  .tuple(
    fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }),
    fc.oneof(fc.integer({ min: 1, max: 366 * 24 * HOUR }), fc.constantFrom(HOUR, 24 * HOUR, 30 * 24 * HOUR)),
    fc.boolean(),
  )
  .map(([start, span, whole]) => {
    const from = whole ? Math.floor(start / HOUR) * HOUR : start;
    return { from: new Date(from).toISOString(), to: new Date(from + span).toISOString() };
  });
const names = fc.array(safeString, { minLength: 1, maxLength: 3 });
const filters = objectOf({
  optional: {
    agentIds: fc.array(agentId, { minLength: 1, maxLength: 3 }),
    models: names,
    providers: names,
    statuses: fc.array(fc.constantFrom('created', 'running', 'completed', 'failed', 'cancelled'), {
      minLength: 1,
      maxLength: 3,
    }),
  },
});
const timeseriesShape: Shape = {
  required: { from: anyDate, to: anyDate },
  optional: {
    bucket: fc.constantFrom('hour', 'day'),
    groupBy: fc.constantFrom('agent', 'model', 'provider', 'status'),
    filters,
  },
};
const summaryShape: Shape = {
  required: { from: anyDate, to: anyDate },
  optional: { top: fc.integer({ min: 1, max: 100 }), filters },
};

/** Valid inputs have a well-formed range; the others are `shape`'s mutations (independent dates are rarely valid). */
function analyticsInputs(shape: Shape): fc.Arbitrary<Generated> {
  const valid = fc
    .tuple(range, objectOf({ optional: shape.optional }))
    .map(([r, rest]): Generated => ({ input: { ...rest, ...r }, how: 'valid' }));
  return fc.oneof(
    { weight: 8, arbitrary: valid },
    { weight: 5, arbitrary: inputsOf(shape).filter((g) => g.how !== 'valid') },
  );
}

/** The generators of the `analytics.*` procedures. */
export function analyticsTargets(): [string, Target][] {
  return [
    trpc('query', 'analytics.timeseries', analyticsInputs(timeseriesShape)),
    trpc('query', 'analytics.summary', analyticsInputs(summaryShape)),
  ];
}
