import type { WaterfallRow } from './waterfall.ts';

/**
 * The rows left when the subtrees under `collapsed` keys are folded: every descendant of a collapsed row is hidden
 * (the collapsed row itself stays). Rows come in layout order (each parent before its subtree).
 */
export function visibleRows(rows: readonly WaterfallRow[], collapsed: ReadonlySet<string>): WaterfallRow[] {
  if (collapsed.size === 0) return [...rows];
  const hidden = new Set<string>();
  const out: WaterfallRow[] = [];
  for (const row of rows) {
    if (row.parentKey !== null && (hidden.has(row.parentKey) || collapsed.has(row.parentKey))) {
      hidden.add(row.key);
      continue;
    }
    out.push(row);
  }
  return out;
}

export interface SpanSearch {
  /** The rows to draw: the matches and their ancestors (for context), in layout order. */
  rows: WaterfallRow[];
  /** Keys of the rows that match. */
  matches: Set<string>;
}

/**
 * Spans whose name, service, status message, kind label, or any attribute key or value contains `query` (case
 * insensitive; `key=value` matches an attribute exactly by key and by value substring). An empty query matches all.
 */
export function searchRows(
  rows: readonly WaterfallRow[],
  query: string,
  kindLabel?: (row: WaterfallRow) => string,
): SpanSearch {
  const q = query.trim().toLowerCase();
  if (!q) return { rows: [...rows], matches: new Set(rows.map((r) => r.key)) };
  const [key, value] = q.includes('=') ? [q.slice(0, q.indexOf('=')).trim(), q.slice(q.indexOf('=') + 1).trim()] : [];
  const matchesRow = (row: WaterfallRow) => {
    const attrs = Object.entries(row.span.spanAttributes);
    if (key !== undefined)
      return attrs.some(([k, v]) => k.toLowerCase() === key && v.toLowerCase().includes(value ?? ''));
    const texts = [row.span.spanName, row.span.serviceName, row.span.statusMessage, kindLabel?.(row) ?? ''];
    return (
      texts.some((t) => (t ?? '').toLowerCase().includes(q)) ||
      attrs.some(([k, v]) => k.toLowerCase().includes(q) || v.toLowerCase().includes(q))
    );
  };
  const byKey = new Map(rows.map((r) => [r.key, r]));
  const matches = new Set<string>();
  const keep = new Set<string>();
  for (const row of rows) {
    if (!matchesRow(row)) continue;
    matches.add(row.key);
    for (
      let r: WaterfallRow | undefined = row;
      r && !keep.has(r.key);
      r = r.parentKey ? byKey.get(r.parentKey) : undefined
    ) {
      keep.add(r.key);
    }
  }
  return { rows: rows.filter((r) => keep.has(r.key)), matches };
}
