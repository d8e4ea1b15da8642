/**
 * Inputs of a described shape: valid ones (so that many writes are accepted), valid ones with one field mutated into
 * junk or dropped, valid ones with an extra key, and junk outright. The mutated field is kept, to print and check.
 */
import fc from 'fast-check';
import { anyKey, junk } from './arbitraries.ts';

export type Fields = Record<string, fc.Arbitrary<unknown>>;

/** An object's fields: the required ones and those a valid input may leave out. */
export interface Shape {
  required?: Fields;
  optional?: Fields;
}

/** One generated input and how it was made. */
export interface Generated<T = unknown> {
  input: T;
  how: 'valid' | 'mutated' | 'extra' | 'junk';
  /** The field mutated or added (`mutated`, `extra`). */
  field?: string;
}

/** Valid objects of `shape`: every required field, any subset of the optional ones. */
export function objectOf(shape: Shape): fc.Arbitrary<Record<string, unknown>> {
  const required = shape.required ?? {};
  return fc.record({ ...required, ...shape.optional }, { requiredKeys: Object.keys(required) }) as fc.Arbitrary<
    Record<string, unknown>
  >;
}

/** Valid objects of `shape`, now and then with one field turned into junk: for items nested in a list. */
export function mostlyValid(shape: Shape): fc.Arbitrary<Record<string, unknown>> {
  return fc.oneof(
    { weight: 6, arbitrary: objectOf(shape) },
    { weight: 1, arbitrary: mutated(shape).map((g) => g.input) },
  );
}

function mutated(shape: Shape): fc.Arbitrary<Generated<Record<string, unknown>>> {
  const names = [...Object.keys(shape.required ?? {}), ...Object.keys(shape.optional ?? {})];
  if (!names.length) return extra(shape);
  return fc.tuple(objectOf(shape), fc.constantFrom(...names), junk, fc.nat(9)).map(([input, field, value, dice]) => {
    const out = { ...input };
    // A required field is sometimes left out instead.
    if (dice === 0 && field in (shape.required ?? {})) delete out[field];
    else out[field] = value;
    return { input: out, how: 'mutated' as const, field };
  });
}

function extra(shape: Shape): fc.Arbitrary<Generated<Record<string, unknown>>> {
  return fc.tuple(objectOf(shape), anyKey, junk).map(([input, key, value]) => {
    const out = { ...input };
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    return { input: out, how: 'extra' as const, field: key };
  });
}

/** Inputs of `shape`: valid more than half the time, otherwise mutated, extended or junk. */
export function inputsOf(shape: Shape, weights: { valid?: number } = {}): fc.Arbitrary<Generated> {
  return fc.oneof(
    { weight: weights.valid ?? 8, arbitrary: objectOf(shape).map((input): Generated => ({ input, how: 'valid' })) },
    { weight: 4, arbitrary: mutated(shape) },
    { weight: 1, arbitrary: extra(shape) },
    { weight: 1, arbitrary: junk.map((input): Generated => ({ input, how: 'junk' })) },
  );
}
