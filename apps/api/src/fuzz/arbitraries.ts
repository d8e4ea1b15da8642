/**
 * The fuzz suite's building blocks: hostile scalars (bounds, unicode with NUL and lone surrogates, dates at the
 * edges), nested junk with hostile keys, and id placeholders resolved against the live api when a case runs (so a
 * generated case stays replayable from its seed and path whatever ids the run created).
 */
import { type IdKind, newId } from '@runtrace/core';
import fc from 'fast-check';

/** Numbers at the bounds every integer column and JSON parser has. */
export const edgeNumbers = [
  0,
  -1,
  1,
  1.5,
  -0.5,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  -(2 ** 53),
  1e30,
  -1e30,
  1e308,
];
/** Numbers as strings: what a query string or a sloppy client sends. */
export const edgeNumberStrings = [
  'NaN',
  'Infinity',
  '-1',
  '1.5',
  '1e30',
  '0x10',
  ' 1',
  '',
  '9223372036854775807',
  '9223372036854775808',
];

/** Years, times and offsets at the edges of what zod, JavaScript and the stores can hold. */
const years = ['0000', '0001', '1969', '1970', '2000', '2038', '9999'];
const times = ['01-01T00:00:00', '12-31T23:59:59.999999', '02-29T12:00:00.5'];
const offsets = ['Z', '+00:00', '+14:00', '-14:00', '+15:59', '-15:59', '+16:00', '-16:00', '+23:59', '-23:59'];
export const edgeDate = fc
  .tuple(fc.constantFrom(...years), fc.constantFrom(...times), fc.constantFrom(...offsets))
  .map(([y, t, o]) => `${y}-${t}${o}`);
/** A recent, ordinary date-time: most writes should be accepted. */
export const plainDate = fc
  .integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) })
  .map((ms) => new Date(ms).toISOString());
/** Dates an input may carry: mostly ordinary, often at the edges. */
export const anyDate = fc.oneof({ weight: 4, arbitrary: plainDate }, { weight: 1, arbitrary: edgeDate });

/** Text the stores cannot hold or that breaks naive code, and long text. */
const specialStrings = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00',
  '\udbff\udfff',
  '🧪',
  '\u202e\u200b',
  '\n\r\t',
  "'; drop table runs; --",
  '%00',
  '\\u0000',
  'null',
  'undefined',
  '__proto__',
];
export const longString = fc.constantFrom(200, 257, 513, 3000, 70_000).map((n) => 'x'.repeat(n));
/** Any text: printable, binary (lone surrogates), special, long. */
export const anyString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 3, arbitrary: fc.constantFrom(...specialStrings) },
  { weight: 1, arbitrary: longString },
);
/** Text that any store can hold (most accepted writes carry it). */
export const safeString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ minLength: 1, maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom('🧪 ok', 'a\u202eb', 'tab\there', 'ünï') },
);
/** Object keys, including ones the stores and JavaScript treat specially. */
export const anyKey = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 8 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      '\u0000',
      'k\u0000',
      '\ud800',
      'a.b',
      '__proto__',
      'constructor',
      'toString',
      '$where',
    ),
  },
);

const idKinds: IdKind[] = ['run', 'step', 'message', 'agent', 'providerTrace'];

/** A well-formed id whose kind is wrong, or a malformed one. */
const malformedIds = ['run-123', 'nonexistent-id', '', ' ', 'RUN-00000000-0000-4000-8000-000000000000', 'run_x'];

/** Any JSON scalar a hostile caller can send. */
export const anyScalar: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...edgeNumbers),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  anyString,
  edgeDate,
  fc.constantFrom(...edgeNumberStrings),
  fc.constantFrom(...idKinds).map((kind) => newId(kind)),
  fc.constantFrom(...malformedIds),
);

/** Nested junk: lists and objects of scalars with hostile keys. */
export const junk: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    anyScalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(anyKey, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A JSON object a store should keep exactly (metadata, details): safe keys and values, some nesting. */
export const safeObject: fc.Arbitrary<Record<string, unknown>> = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 8 }).filter((k) => k !== '__proto__'),
  fc.oneof(safeString, fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 })),
  { maxKeys: 4 },
);

// ---- id placeholders ----------------------------------------------------------------------------------------------

/**
 * How a case picks an id, decided when generated, resolved when it runs: one of the caller's own (an index into what
 * exists), another organization's, a fresh unknown one, one of the wrong kind, or a malformed string.
 */
export type IdHow = 'own' | 'other' | 'unknown' | 'wrongKind' | 'malformed';

export class IdRef {
  constructor(
    readonly kind: IdKind,
    readonly how: IdHow,
    readonly n: number,
    /** The own pool to pick from when not the kind's own (e.g. `backgroundRun`). */
    readonly pool: string = kind,
  ) {}
  toJSON() {
    return `<${this.pool}:${this.how}#${this.n}>`;
  }
}

/** An id of `kind`: mostly the caller's own, sometimes another organization's or unknown, rarely malformed. */
export function idOf(
  kind: IdKind,
  weights: Partial<Record<IdHow, number>> = {},
  pool: string = kind,
): fc.Arbitrary<IdRef> {
  const w = { own: 20, other: 2, unknown: 2, wrongKind: 1, malformed: 1, ...weights };
  return fc
    .tuple(
      fc.oneof(
        ...(Object.entries(w) as [IdHow, number][])
          .filter(([, weight]) => weight > 0)
          .map(([how, weight]) => ({ weight, arbitrary: fc.constant(how) })),
      ),
      fc.nat(1000),
    )
    .map(([how, n]) => new IdRef(kind, how, n, pool));
}

/** The ids a case can resolve placeholders to. */
export interface IdPools {
  /** The caller's own ids of each kind, oldest first (fixtures first). */
  own: Record<string, string[]>;
  /** The second organization's ids. */
  other: Record<string, string[]>;
}

export function resolveId(ref: IdRef, pools: IdPools): string {
  const pick = (list: string[]) => list[ref.n % Math.max(1, list.length)] ?? newId(ref.kind);
  switch (ref.how) {
    case 'own':
      return pick(pools.own[ref.pool] ?? []);
    case 'other':
      return pick(pools.other[ref.kind] ?? []);
    case 'unknown':
      return newId(ref.kind);
    case 'wrongKind':
      return newId(
        idKinds[(idKinds.indexOf(ref.kind) + 1 + (ref.n % (idKinds.length - 1))) % idKinds.length] as IdKind,
      );
    case 'malformed':
      return malformedIds[ref.n % malformedIds.length] as string;
  }
}

/**
 * `value` with `leaf` applied to every non-container value, keys kept as own properties (a `__proto__` key stays a
 * key instead of becoming a prototype).
 */
export function mapLeaves(value: unknown, leaf: (v: unknown) => unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => mapLeaves(v, leaf));
  if (value && typeof value === 'object' && !(value instanceof IdRef)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, {
        value: mapLeaves(v, leaf),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return leaf(value);
}

/** `value` with every placeholder replaced; `refs` collects what each resolved to. */
export function resolve(value: unknown, pools: IdPools, refs: { ref: IdRef; id: string }[] = []): unknown {
  return mapLeaves(value, (v) => {
    if (!(v instanceof IdRef)) return v;
    const id = resolveId(v, pools);
    refs.push({ ref: v, id });
    return id;
  });
}
