import { createHash } from 'node:crypto';
import { z } from 'zod';

/** JSON with object keys sorted, so equal values always give equal text. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, (v as Record<string, unknown>)[k]]),
      );
    }
    return v;
  });
}

/** A content hash used to tell an idempotent retry (same id, same content) from a conflicting one. */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('base64url');
}

/**
 * A JSON object kept as sent (metadata, step details, provider requests and responses). Its top-level key
 * `__proto__` is refused (BAD_REQUEST naming it): zod's record skips that key, so it was accepted and silently
 * dropped. Nested objects are not copied and keep it.
 */
export const jsonObjectSchema = z.preprocess(
  (value, ctx) => {
    if (typeof value === 'object' && value !== null && Object.hasOwn(value, '__proto__')) {
      ctx.issues.push({
        code: 'custom',
        message: 'the key "__proto__" cannot be stored',
        path: ['__proto__'],
        input: value,
      });
    }
    return value;
  },
  z.record(z.string(), z.unknown()),
);
