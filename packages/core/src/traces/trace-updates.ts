import { inTraceView, type LiveSpansMessage, traceSpansTopic } from './live-spans.ts';
import type { TraceSpan } from './schemas.ts';

/**
 * What `runs.traceUpdates` yields: first a `snapshot` (the run's trace as `runs.trace` answers it), then `spans`,
 * new spans to merge by `spanId` (a span seen again replaces the one held). A later `snapshot` (after falling behind,
 * see {@link TraceUpdatesOptions.maxPendingSpans}) replaces everything the subscriber holds.
 */
export type TraceUpdate = { kind: 'snapshot'; spans: TraceSpan[] } | { kind: 'spans'; spans: TraceSpan[] };

/** Where the updates come from (OtelTraces gives its reads and its feed). */
export interface TraceUpdateSources {
  organizationId: string;
  llmSpans: boolean;
  /** The run's trace ids now (its steps'), lowercase. */
  traceIds(): Promise<string[]>;
  /** The spans of these traces that the view draws, as runs.trace reads them (bounded by its limit). */
  read(traceIds: string[]): Promise<TraceSpan[]>;
  /**
   * Tells every process that this organization has a trace subscriber (ingest publishes live spans only for such
   * organizations): before the first subscription and then every few seconds while subscribed.
   */
  announce(): Promise<void>;
  /** The feed's topic subscription (RunChangeFeed.subscribeTopic). */
  subscribe(topic: string, signal: AbortSignal): Promise<AsyncIterable<unknown>>;
  signal: AbortSignal;
}

/** How often a subscriber announces itself (ingest remembers it for five times as long: otel-traces.ts). */
export const TRACE_WATCH_INTERVAL_MS = 2_000;

export interface TraceUpdatesOptions {
  /**
   * How often the run's trace ids are read again while subscribed, to learn those of steps created since (one
   * indexed Postgres query per subscriber per interval; never one per span). A new trace id is subscribed, then its
   * spans so far are read once. @default 2000
   */
  traceIdsRefreshMs?: number;
  /**
   * Most new spans held for a subscriber that has not taken them yet (spans of one id coalesce). Past it they are
   * dropped and the subscriber's next update is a fresh snapshot, so a slow subscriber costs bounded memory.
   * @default 5000
   */
  maxPendingSpans?: number;
}

/**
 * A run's trace, then its new spans as they are ingested (see {@link TraceUpdate}). Each of the run's trace ids is a
 * subscription to its {@link traceSpansTopic}, made BEFORE its spans are read, so nothing written in between is
 * missed (a span may come twice: merged by id). Ends when `signal` aborts; throws the feed's Unavailable when the
 * feed closes or Redis drops (the client reconnects and starts over with a snapshot).
 */
export async function* traceUpdates(
  sources: TraceUpdateSources,
  options: TraceUpdatesOptions = {},
): AsyncGenerator<TraceUpdate, void> {
  const refreshMs = options.traceIdsRefreshMs ?? 2000;
  const maxPending = options.maxPendingSpans ?? 5000;
  const { signal } = sources;
  const inner = new AbortController();
  const stop = () => inner.abort();
  signal.addEventListener('abort', stop, { once: true });
  const subscribed = new Set<string>();
  const pending = new Map<string, TraceSpan>();
  let resync = false;
  /** Why a topic's subscription broke (the feed closed, Redis dropped): thrown to the subscriber. */
  const broken: { error?: unknown } = {};
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };

  const pump = async (messages: AsyncIterable<unknown>) => {
    try {
      for await (const message of messages) {
        if (resync) continue; // a snapshot comes next: nothing to keep until then
        for (const span of (message as LiveSpansMessage).spans ?? []) {
          if (!inTraceView(span, sources.llmSpans)) continue;
          pending.set(`${span.traceId}:${span.spanId}`, span);
        }
        if (pending.size > maxPending) {
          pending.clear();
          resync = true;
        }
        notify();
      }
    } catch (error) {
      if (!('error' in broken)) broken.error = error;
      notify();
    }
  };

  /** Subscribes the trace ids not yet subscribed; returns them. */
  const follow = async (traceIds: string[]): Promise<string[]> => {
    const fresh = traceIds.filter((id) => !subscribed.has(id));
    for (const id of fresh) {
      const messages = await sources.subscribe(traceSpansTopic(sources.organizationId, id), inner.signal);
      subscribed.add(id);
      void pump(messages);
    }
    return fresh;
  };

  try {
    // announced before subscribing and reading: an ingest that finishes after the read has heard of this subscriber
    await sources.announce();
    let announceAt = Date.now() + TRACE_WATCH_INTERVAL_MS;
    await follow(await sources.traceIds());
    yield { kind: 'snapshot', spans: await sources.read([...subscribed]) };
    let refreshAt = Date.now() + refreshMs;
    for (;;) {
      if (!resync && pending.size === 0 && !('error' in broken) && !signal.aborted) {
        const wait = Math.min(refreshAt, announceAt) - Date.now();
        if (wait > 0) {
          await new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              signal.removeEventListener('abort', done);
              wake = null;
              resolve();
            };
            const timer = setTimeout(done, wait);
            wake = done;
            signal.addEventListener('abort', done, { once: true });
          });
        }
      }
      if (signal.aborted) return;
      if ('error' in broken) throw broken.error;
      if (resync) {
        resync = false;
        pending.clear();
        yield { kind: 'snapshot', spans: await sources.read([...subscribed]) };
      } else if (pending.size > 0) {
        const spans = [...pending.values()].sort(byTime);
        pending.clear();
        yield { kind: 'spans', spans };
      }
      if (Date.now() >= announceAt) {
        await sources.announce();
        announceAt = Date.now() + TRACE_WATCH_INTERVAL_MS;
      }
      if (Date.now() >= refreshAt) {
        const fresh = await follow(await sources.traceIds());
        refreshAt = Date.now() + refreshMs;
        if (fresh.length > 0) {
          const spans = await sources.read(fresh);
          if (spans.length > 0) yield { kind: 'spans', spans };
        }
      }
    }
  } finally {
    signal.removeEventListener('abort', stop);
    inner.abort();
  }
}

/** Oldest first, ties by span id (runs.trace's order). */
function byTime(a: TraceSpan, b: TraceSpan): number {
  const [x, y] = [BigInt(a.timestamp), BigInt(b.timestamp)];
  return x < y ? -1 : x > y ? 1 : a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0;
}
