import { createHash } from 'node:crypto';

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
