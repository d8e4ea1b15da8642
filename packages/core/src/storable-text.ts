import { InvalidArgument } from './errors.ts';

/** How deeply objects and lists may nest in a request's input (the database and JSON tools recurse over it). */
export const MAX_INPUT_DEPTH = 1000;

/** An unpaired UTF-16 surrogate: JSON can carry it (`"\ud800"`), Postgres text and jsonb cannot. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why `text` cannot be stored as it is (Postgres text/jsonb, ClickHouse String, JSON on the wire), or null.
 * The one test every entrance (tRPC, REST, OTLP) and every shared batch applies.
 */
export function unstorableTextReason(text: string): string | null {
  if (text.includes('\u0000')) return 'contains a NUL character (\\u0000), which cannot be stored';
  if (LONE_SURROGATE.test(text)) return 'contains an unpaired UTF-16 surrogate, which is not valid Unicode text';
  return null;
}

/**
 * Refuses input the database cannot store, before it reaches a schema or a query: text holding NUL characters or
 * unpaired surrogates (in values or keys), and nesting deeper than {@link MAX_INPUT_DEPTH}. Otherwise Postgres
 * would refuse it mid-transaction and the caller would get an internal error instead of a BAD_REQUEST naming the
 * field. Iterative, so a hostile nesting depth cannot overflow the stack.
 */
export function assertStorableInput(input: unknown): void {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: input, path: '', depth: 0 }];
  const fail = (path: string, why: string): never => {
    throw new InvalidArgument(path ? `${path}: ${why}` : why, { field: path || undefined });
  };
  while (stack.length) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      const why = unstorableTextReason(value);
      if (why) fail(path, why);
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_INPUT_DEPTH) fail(path, `nests deeper than ${MAX_INPUT_DEPTH} levels`);
    const join = (key: string | number) => (path ? `${path}.${key}` : String(key));
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        stack.push({ value: item, path: join(i), depth: depth + 1 });
      });
      continue;
    }
    for (const [key, item] of Object.entries(value)) {
      const why = unstorableTextReason(key);
      if (why) fail(path, `a key ${why}`);
      stack.push({ value: item, path: join(key), depth: depth + 1 });
    }
  }
}

/**
 * `text` with every unpaired surrogate replaced by U+FFFD and every NUL removed: for data that must be kept rather
 * than refused (span names and attributes from OTLP, whose protobuf decoding already does the same to invalid UTF-8).
 */
export function toStorableText(text: string): string {
  if (unstorableTextReason(text) === null) return text;
  return text.replaceAll('\u0000', '').replace(new RegExp(LONE_SURROGATE.source, 'g'), '\ufffd');
}
