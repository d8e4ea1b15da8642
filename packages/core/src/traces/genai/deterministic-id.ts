import { createHash } from 'node:crypto';
import { ID_PREFIXES, type IdKind } from '../../ids.ts';

/**
 * A Letta-shaped id (`<prefix>-<uuid4>`) from SHA-256 of its parts, so that mapping the same span again (an
 * exporter's retry, a repeated export) names the same records, and the ledger's idempotent creates answer them.
 * The organization is always among the parts: two organizations' identical traces never share an id.
 */
export function deterministicId(kind: IdKind, ...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  // version 4 and the RFC 4122 variant, as Letta's ids are checked
  const variant = ((Number.parseInt(h[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  const uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  return `${ID_PREFIXES[kind]}-${uuid}`;
}
