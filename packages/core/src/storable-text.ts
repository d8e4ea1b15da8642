import { InvalidArgument } from './errors.ts';

/** How deeply objects and lists may nest in a request's input (the database and JSON tools recurse over it). */
export const MAX_INPUT_DEPTH = 1000;

/** An unpaired UTF-16 surrogate: JSON can carry it (`"\ud800"`), Postgres text and jsonb cannot. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/**
 * Why `text` cannot be stored as it is (Postgres text/jsonb, ClickHouse String, JSON on the wire), or null.
 * The one test every entrance (tRPC, REST, OTLP) and every shared batch applies.
 */
export function unstorableTextReason(text: string): string | null {
  if (text.includes('\u0000')) return 'contains a NUL character (\\u0000), which cannot be stored';
  if (LONE_SURROGATE.test(text)) return 'contains an unpaired UTF-16 surrogate, which is not valid Unicode text';
  return null;
}

/** Where in an input a value or key sits: object keys and list indexes from the top. */
export type InputPath = (string | number)[];

/** What {@link unstorableInputIssue} found: where, and why. A bad key's path ends with the key itself. */
export interface UnstorableInputIssue {
  path: InputPath;
  message: string;
}

/**
 * The first place in `input` the database cannot store, or null: text holding NUL characters or unpaired
 * surrogates (in values or keys), and nesting deeper than {@link MAX_INPUT_DEPTH}. Iterative, so a hostile nesting
 * depth cannot overflow the stack. Every entrance applies it (tRPC via {@link assertStorableInput}, REST naming the
 * query, path or body it came from).
 */
export function unstorableInputIssue(input: unknown): UnstorableInputIssue | null {
  const stack: { value: unknown; path: InputPath }[] = [{ value: input, path: [] }];
  while (stack.length) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      const why = unstorableTextReason(value);
      if (why) return { path, message: why };
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (path.length >= MAX_INPUT_DEPTH) return { path, message: `nests deeper than ${MAX_INPUT_DEPTH} levels` };
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        stack.push({ value: item, path: [...path, i] });
      });
      continue;
    }
    for (const [key, item] of Object.entries(value)) {
      const why = unstorableTextReason(key);
      if (why) return { path: [...path, key], message: `the key ${why}` };
      stack.push({ value: item, path: [...path, key] });
    }
  }
  return null;
}

/**
 * Refuses input the database cannot store ({@link unstorableInputIssue}) before it reaches a schema or a query,
 * as InvalidArgument naming the field (`a.b.0`). Otherwise Postgres would refuse it mid-transaction and the caller
 * would get an internal error instead of a BAD_REQUEST.
 */
export function assertStorableInput(input: unknown): void {
  const issue = unstorableInputIssue(input);
  if (!issue) return;
  const field = issue.path.join('.');
  throw new InvalidArgument(field ? `${field}: ${issue.message}` : issue.message, { field: field || undefined });
}

/**
 * `text` with every unpaired surrogate replaced by U+FFFD and every NUL removed: for data that must be kept rather
 * than refused (span names and attributes from OTLP, whose protobuf decoding already does the same to invalid UTF-8).
 */
export function toStorableText(text: string): string {
  if (unstorableTextReason(text) === null) return text;
  return text.replaceAll('\u0000', '').replace(LONE_SURROGATES, '\ufffd');
}
