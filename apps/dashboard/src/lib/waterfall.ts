import type { TraceSpan } from './types.ts';

export interface WaterfallRow {
  span: TraceSpan;
  /** `traceId:spanId`, unique in a run's trace (it may merge several traces). */
  key: string;
  /** The key of the row it is drawn under, or null at the top level. */
  parentKey: string | null;
  /** Rows drawn directly under it. */
  childCount: number;
  /** Nesting below its parent (0 for a root, or a span whose parent the trace view filtered out). */
  depth: number;
  /** Start and length in milliseconds from the earliest span's start. */
  startMs: number;
  durationMs: number;
}

export interface Waterfall {
  rows: WaterfallRow[];
  /** From the first start to the last end, in milliseconds. */
  totalMs: number;
  /** Where the first token arrived: the end of each `time_to_first_token` span, and `*first_token*` span events. */
  firstTokenMs: number[];
}

const nsBetween = (from: bigint, to: string) => Number(BigInt(to) - from) / 1e6;

/**
 * Lays out a run's spans (`runs.trace`, oldest first) on one time axis: each span under its parent, siblings by start.
 * Nanoseconds are decimal strings; they are subtracted as bigints before becoming milliseconds, so spans hours into a
 * trace keep their sub-microsecond offsets.
 */
export function layoutWaterfall(spans: readonly TraceSpan[]): Waterfall {
  if (spans.length === 0) return { rows: [], totalMs: 0, firstTokenMs: [] };
  const origin = spans.reduce(
    (min, s) => (BigInt(s.timestamp) < min ? BigInt(s.timestamp) : min),
    BigInt(spans[0]!.timestamp),
  );
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, TraceSpan[]>();
  const roots: TraceSpan[] = [];
  for (const span of spans) {
    if (span.parentSpanId && ids.has(span.parentSpanId) && span.parentSpanId !== span.spanId) {
      const list = children.get(span.parentSpanId) ?? [];
      list.push(span);
      children.set(span.parentSpanId, list);
    } else {
      roots.push(span);
    }
  }
  const byStart = (a: TraceSpan, b: TraceSpan) =>
    BigInt(a.timestamp) < BigInt(b.timestamp) ? -1 : BigInt(a.timestamp) > BigInt(b.timestamp) ? 1 : 0;
  const rows: WaterfallRow[] = [];
  const visited = new Set<string>();
  const visit = (span: TraceSpan, depth: number, parent: WaterfallRow | null) => {
    if (visited.has(span.spanId)) return;
    visited.add(span.spanId);
    const startMs = nsBetween(origin, span.timestamp);
    const row: WaterfallRow = {
      span,
      key: `${span.traceId}:${span.spanId}`,
      parentKey: parent?.key ?? null,
      childCount: 0,
      depth,
      startMs,
      durationMs: Number(span.duration) / 1e6,
    };
    if (parent) parent.childCount += 1;
    rows.push(row);
    for (const child of (children.get(span.spanId) ?? []).sort(byStart)) visit(child, depth + 1, row);
  };
  for (const root of roots.sort(byStart)) visit(root, 0, null);
  // Spans whose parents form a cycle (a broken exporter) have no root: they are drawn at the top level, not dropped.
  for (const span of [...spans].sort(byStart)) visit(span, 0, null);
  const totalMs = Math.max(...rows.map((r) => r.startMs + r.durationMs), 0);
  const firstTokenMs: number[] = [];
  for (const row of rows) {
    if (row.span.spanName === 'time_to_first_token') firstTokenMs.push(row.startMs + row.durationMs);
    for (const event of row.span.events) {
      if (event.name.includes('first_token')) firstTokenMs.push(nsBetween(origin, event.timestamp));
    }
  }
  return { rows, totalMs, firstTokenMs };
}
