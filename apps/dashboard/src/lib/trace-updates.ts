import type { TraceSpan, TraceUpdate } from './types.ts';

/**
 * The spans held after a `runs.traceUpdates` update: a snapshot replaces them; new spans are merged by trace and span
 * id (a span sent again replaces the one held), oldest first as runs.trace orders them. The spans kept are the same
 * objects, so a waterfall's unchanged rows stay equal.
 */
export function applyTraceUpdate(held: readonly TraceSpan[] | undefined, update: TraceUpdate): TraceSpan[] {
  if (update.kind === 'snapshot') return update.spans;
  const byId = new Map((held ?? []).map((s) => [`${s.traceId}:${s.spanId}`, s]));
  for (const span of update.spans) byId.set(`${span.traceId}:${span.spanId}`, span);
  return [...byId.values()].sort(byStart);
}

function byStart(a: TraceSpan, b: TraceSpan): number {
  const [x, y] = [BigInt(a.timestamp), BigInt(b.timestamp)];
  if (x !== y) return x < y ? -1 : 1;
  return a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0;
}
