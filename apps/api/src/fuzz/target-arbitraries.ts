/** Field generators that several targets share: pages, ids of the suite's pools, nanoseconds, token counts. */
import fc from 'fast-check';
import { anyString, edgeNumbers, idOf, junk, safeString } from './arbitraries.ts';
import { type Generated, objectOf } from './generated.ts';

export const bool = fc.boolean();
export const order = fc.constantFrom('asc', 'desc');
export const limit = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 1000 }) },
  { weight: 1, arbitrary: fc.constantFrom(...edgeNumbers) },
);
export const cursor = fc.oneof(
  fc.constantFrom('garbage', Buffer.from('{"v":1}').toString('base64url'), Buffer.from('null').toString('base64url')),
  anyString,
);
export const runId = idOf('run');
export const stepId = idOf('step');
export const agentId = idOf('agent');
export const backgroundRunId = idOf('run', {}, 'backgroundRun');
/** Runs the suite created (the fixtures, which other checks read, are never deleted). */
export const deletableRunId = idOf('run', { own: 3 }, 'deletableRun');
export const newRunId = idOf('run', { own: 1, other: 1, unknown: 10 });
export const nanos = fc.oneof(
  { weight: 4, arbitrary: fc.nat() },
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 9_223_372_036_854_775_807n }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('9223372036854775807', '9223372036854775808', '1.5', '-1', '0') },
);
export const tokens = fc.oneof(
  { weight: 9, arbitrary: fc.nat(100_000) },
  { weight: 1, arbitrary: fc.constantFrom(0, 2 ** 31 - 1, 2 ** 31) },
);
export const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
export const page = { order, limit, cursor };

/** A message's or event's tool call, and its content (text, or text parts). */
export const toolCall = objectOf({ optional: { name: safeString, arguments: safeString, toolCallId: safeString } });
export const content = fc.oneof(
  safeString,
  fc.array(fc.record({ type: fc.constant('text'), text: safeString }), { maxLength: 2 }),
);

/** Inputs of a procedure that takes none: nothing (valid), or junk it must ignore or refuse. */
export const noInput = fc.oneof(
  fc.constant<Generated>({ input: undefined, how: 'valid' }),
  junk.map((input): Generated => ({ input, how: 'junk' })),
);
