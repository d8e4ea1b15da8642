import fc from 'fast-check';
import { encodeLoose } from './fuzz-client.ts';
import { type Generated, inputsOf, objectOf, type Shape } from './generated.ts';
import type { Target } from './target.ts';

/** A REST request before its ids are resolved: path parameters, query parameters, JSON body. */
export interface RestInput {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body?: unknown;
}

function restPath(url: string, params: Record<string, unknown>): string {
  // Junk in a path parameter is sent as its JSON text (String() throws for an object whose `toString` is junk).
  const text = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
  return url.replace(/:(\w+)/g, (_, name: string) => encodeLoose(text(params[name])));
}
/**
 * A `/v1` route's target, keyed `METHOD url`: its path parameters, query and body generated from their shapes, one
 * of them mutated in a case that is not valid. Path parameters given as `required` are lookups.
 */
export function rest(
  method: string,
  url: string,
  parts: { params?: Shape; query?: Shape; body?: Shape },
  options: { after?: Target['after']; valid?: number } = {},
): [string, Target] {
  const params = parts.params ?? {};
  const query = parts.query ?? { optional: {} };
  // One part at a time is mutated; the others stay valid.
  const gen = fc
    .tuple(
      fc.constantFrom(...(['params', 'query', 'body'] as const).filter((p) => parts[p])),
      objectOf(params),
      objectOf(query),
      parts.body ? objectOf(parts.body) : fc.constant(undefined),
      fc.nat(99),
    )
    .chain(([part, p, q, b, dice]) => {
      const base: RestInput = { params: p, query: q, ...(parts.body ? { body: b } : {}) };
      if (dice < (options.valid ?? 45)) return fc.constant<Generated>({ input: base, how: 'valid' });
      const shape = parts[part] as Shape;
      return inputsOf(shape, { valid: 0 }).map((g): Generated => {
        // Path parameters are strings in a URL: junk there is its text.
        const input = part === 'params' && (typeof g.input !== 'object' || g.input === null) ? { ...p } : g.input;
        return { input: { ...base, [part]: input }, how: g.how, field: g.field ? `${part}.${g.field}` : part };
      });
    });
  return [
    `${method} ${url}`,
    {
      gen,
      lookups: Object.keys(params.required ?? {}).map((name) => `params.${name}`),
      send: (s, input) => {
        const i = input as RestInput;
        return s.client.rest(method, restPath(url, i.params), { query: i.query, body: i.body });
      },
      after: options.after,
      rest: true,
    },
  ];
}
