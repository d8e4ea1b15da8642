import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { type KeyboardEvent, type PointerEvent, useEffect, useMemo, useRef, useState } from 'react';
import { Empty, ErrorState, Loading } from '../components/States.tsx';
import { formatMs } from '../lib/format.ts';
import { formatCost, llmUsageOf, usageSummary } from '../lib/llm-usage.ts';
import { SPAN_KINDS, type SpanKind, spanKindOf } from '../lib/span-kind.ts';
import { niceTicks } from '../lib/time-axis.ts';
import { applyTraceUpdate } from '../lib/trace-updates.ts';
import { isActive, type Run, type TraceSpan, type TraceUpdate } from '../lib/types.ts';
import { layoutWaterfall, type WaterfallRow } from '../lib/waterfall.ts';
import { estimateLabelPx, placeBarLabel, placeMarkerLabels } from '../lib/waterfall-labels.ts';
import { searchRows, visibleRows } from '../lib/waterfall-tree.ts';
import { useTRPC } from '../trpc.ts';
import './TraceView.css';

/** A row as drawn: its layout, kind, and the LLM usage its attributes carry. */
interface DrawnRow extends WaterfallRow {
  kind: SpanKind;
  usage: string;
}

/** A time window of the trace in milliseconds from its first start. */
interface Window {
  start: number;
  end: number;
}

/** The narrowest window zooming goes to, so that a bar never becomes wider than the track by float error. */
const MIN_WINDOW_MS = 0.001;

/** Width of an element, kept current as it resizes (for placing labels inside the track). */
function useWidth<T extends HTMLElement>(fallback: number): [React.RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const observer = new ResizeObserver(([entry]) => {
      if (entry) setWidth(entry.contentRect.width);
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

/**
 * The run's OpenTelemetry trace (`runs.trace`) as a waterfall: spans on one time axis, each under its parent,
 * coloured and tagged by kind, with collapsible subtrees, a search, zoom into a time window, first-token markers and
 * a detail panel pinned by selecting a span. While the run is active, `runs.traceUpdates` grows it as spans are
 * ingested (into the same query's data, so leaving and coming back shows what arrived).
 */
export function TraceView({ run }: { run: Run }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const input = { runId: run.id, llmSpans: true };
  const trace = useQuery(trpc.runs.trace.queryOptions(input));
  const queryKey = trpc.runs.trace.queryKey(input);
  const active = isActive(run.status);
  useSubscription(
    trpc.runs.traceUpdates.subscriptionOptions(input, {
      enabled: active,
      onData(update: TraceUpdate) {
        queryClient.setQueryData<TraceSpan[]>(queryKey, (held) => applyTraceUpdate(held, update));
      },
    }),
  );
  // Spans exported while the run finished may come after its subscription ended: read the trace once more.
  const wasActive = useRef(active);
  useEffect(() => {
    if (wasActive.current && !active) void queryClient.invalidateQueries({ queryKey });
    wasActive.current = active;
  }, [active, queryClient, queryKey]);
  const waterfall = useMemo(() => layoutWaterfall(trace.data ?? []), [trace.data]);
  const rows = useMemo<DrawnRow[]>(
    () =>
      waterfall.rows.map((row) => {
        const usage = llmUsageOf(row.span.spanAttributes);
        return { ...row, kind: spanKindOf(row.span), usage: usage ? usageSummary(usage) : '' };
      }),
    [waterfall],
  );
  if (trace.isPending) return <Loading what="the trace" />;
  if (trace.error) return <ErrorState error={trace.error} what="the trace" />;
  if (rows.length === 0) {
    return (
      <Empty>No spans for this run: its steps carry no trace id, or nothing was exported to /v1/traces yet.</Empty>
    );
  }
  return <Waterfall rows={rows} totalMs={waterfall.totalMs || 1} firstTokenMs={waterfall.firstTokenMs} />;
}

function Waterfall({ rows, totalMs, firstTokenMs }: { rows: DrawnRow[]; totalMs: number; firstTokenMs: number[] }) {
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const [query, setQuery] = useState('');
  const [selectedKey, setSelectedKey] = useState<string | null>(null);
  // null: the whole trace, which follows it as it grows live; a window once zoomed.
  const [zoom, setZoom] = useState<Window | null>(null);
  const view = zoom ?? { start: 0, end: totalMs };
  const [drag, setDrag] = useState<{ from: number; to: number } | null>(null);
  const [trackRef, trackPx] = useWidth<HTMLDivElement>(600);
  const listRef = useRef<HTMLDivElement>(null);

  const search = useMemo(() => searchRows(rows, query, (r) => SPAN_KINDS[(r as DrawnRow).kind].label), [rows, query]);
  const shown = useMemo(() => visibleRows(search.rows, collapsed) as DrawnRow[], [search, collapsed]);
  const selected = rows.find((r) => r.key === selectedKey) ?? null;
  const kinds = useMemo(() => {
    const counts = new Map<SpanKind, number>();
    for (const r of rows) counts.set(r.kind, (counts.get(r.kind) ?? 0) + 1);
    return (Object.keys(SPAN_KINDS) as SpanKind[]).filter((k) => counts.has(k)).map((k) => [k, counts.get(k)] as const);
  }, [rows]);

  const windowMs = view.end - view.start;
  const zoomed = view.start > 0 || view.end < totalMs;
  const fraction = (ms: number) => (ms - view.start) / windowMs;
  const pct = (ms: number) => `${fraction(ms) * 100}%`;
  const ticks = niceTicks(view.start, view.end);
  const markers = firstTokenMs.filter((ms) => ms >= view.start && ms <= view.end);
  const markerLabel = (ms: number) => `first token ${formatMs(ms)}`;
  const markerPlaces = placeMarkerLabels(
    markers.map(fraction),
    trackPx,
    Math.max(0, ...markers.map((ms) => estimateLabelPx(markerLabel(ms)))),
  );
  const markerLanes = markers.length ? Math.max(...markerPlaces.map((p) => p.lane)) + 1 : 0;

  const zoomTo = (start: number, end: number) => {
    const lo = Math.max(0, Math.min(start, end));
    const hi = Math.min(totalMs, Math.max(start, end));
    if (hi - lo < MIN_WINDOW_MS) return;
    setZoom(lo <= 0 && hi >= totalMs ? null : { start: lo, end: hi });
  };
  const zoomBy = (factor: number) => {
    const center = (view.start + view.end) / 2;
    const half = Math.min(totalMs, windowMs * factor) / 2;
    const start = Math.max(0, Math.min(center - half, totalMs - 2 * half));
    zoomTo(start, start + 2 * half);
  };
  const msAt = (event: PointerEvent<HTMLDivElement>) => {
    const rect = event.currentTarget.getBoundingClientRect();
    return view.start + ((event.clientX - rect.left) / rect.width) * windowMs;
  };
  const toggle = (key: string, open?: boolean) =>
    setCollapsed((prev) => {
      const next = new Set(prev);
      const isOpen = !prev.has(key);
      if (open ?? !isOpen) next.delete(key);
      else next.add(key);
      return next;
    });
  // Arrow keys move between rows (Left/Right fold and unfold), as in a tree.
  const onRowKey = (event: KeyboardEvent<HTMLDivElement>, row: DrawnRow, index: number) => {
    const focusRow = (i: number) => listRef.current?.querySelectorAll<HTMLButtonElement>('.span-select')[i]?.focus();
    if (event.key === 'ArrowDown') focusRow(index + 1);
    else if (event.key === 'ArrowUp') focusRow(index - 1);
    else if (event.key === 'ArrowLeft' && row.childCount && !collapsed.has(row.key)) toggle(row.key, false);
    else if (event.key === 'ArrowRight' && row.childCount && collapsed.has(row.key)) toggle(row.key, true);
    else return;
    event.preventDefault();
  };

  return (
    <div className="card waterfall" data-testid="waterfall">
      <div className="wf-toolbar">
        <label className="wf-search">
          <span>Search spans</span>
          <input
            type="search"
            value={query}
            placeholder="name, attribute, key=value"
            onChange={(e) => setQuery(e.target.value)}
            data-testid="span-search"
          />
        </label>
        <span className="muted" aria-live="polite" data-testid="search-count">
          {query.trim() ? `${search.matches.size} of ${rows.length} spans match` : `${rows.length} spans`}
        </span>
        <fieldset className="wf-zoom">
          <legend className="visually-hidden">Zoom</legend>
          <button type="button" onClick={() => zoomBy(0.5)} aria-label="Zoom in">
            +
          </button>
          <button type="button" onClick={() => zoomBy(2)} disabled={!zoomed} aria-label="Zoom out">
            −
          </button>
          <button type="button" onClick={() => setZoom(null)} disabled={!zoomed}>
            Reset zoom
          </button>
          <span className="muted" data-testid="zoom-window">
            {zoomed ? `${formatMs(view.start)} – ${formatMs(view.end)}` : 'drag on the axis to zoom'}
          </span>
        </fieldset>
      </div>
      <ul className="wf-legend" aria-label="Span kinds">
        {kinds.map(([kind, count]) => (
          <li key={kind} data-testid="legend-item" data-kind={kind}>
            <span className="wf-tag" style={{ background: SPAN_KINDS[kind].color }}>
              {SPAN_KINDS[kind].tag}
            </span>
            {SPAN_KINDS[kind].label} ({count})
          </li>
        ))}
        {markers.length > 0 && (
          <li>
            <span className="wf-ttft-swatch" aria-hidden="true" /> first token
          </li>
        )}
      </ul>
      <div className={`wf-layout ${selected ? 'has-details' : ''}`}>
        <div className="wf-scroll" data-testid="waterfall-scroll">
          <div className="wf-inner">
            <div className="wf-header">
              <div className="wf-label-head muted">span</div>
              <div
                className="wf-axis"
                ref={trackRef}
                data-testid="waterfall-axis"
                onPointerDown={(e) => {
                  e.currentTarget.setPointerCapture(e.pointerId);
                  setDrag({ from: msAt(e), to: msAt(e) });
                }}
                onPointerMove={(e) => drag && setDrag({ ...drag, to: msAt(e) })}
                onPointerUp={() => {
                  if (drag && Math.abs(fraction(drag.to) - fraction(drag.from)) * trackPx > 4)
                    zoomTo(drag.from, drag.to);
                  setDrag(null);
                }}
              >
                {ticks.map((t, i) => (
                  <span
                    key={t}
                    className={`wf-tick ${i === 0 ? 'first' : ''} ${fraction(t) > 0.94 ? 'last' : ''}`}
                    style={{ left: pct(t) }}
                    data-testid="axis-tick"
                  >
                    {t === 0 ? '0' : formatMs(t)}
                  </span>
                ))}
                {drag && (
                  <div
                    className="wf-drag"
                    style={{
                      left: pct(Math.min(drag.from, drag.to)),
                      width: `${(Math.abs(drag.to - drag.from) / windowMs) * 100}%`,
                    }}
                  />
                )}
              </div>
            </div>
            {markers.length > 0 && (
              <div className="wf-markers" style={{ height: markerLanes * 16 }}>
                <div className="wf-label-head" />
                <div className="wf-track-area">
                  {markers.map((ms, i) => (
                    <span
                      key={ms}
                      className={`wf-marker-label ${markerPlaces[i]?.flip ? 'flip' : ''}`}
                      style={{ left: pct(ms), top: (markerPlaces[i]?.lane ?? 0) * 16 }}
                      data-testid="ttft-label"
                    >
                      {markerLabel(ms)}
                    </span>
                  ))}
                </div>
              </div>
            )}
            <div className="wf-body" ref={listRef}>
              <div className="wf-grid" aria-hidden="true">
                {ticks.map((t) => (
                  <span key={t} className="wf-gridline" style={{ left: pct(t) }} data-testid="gridline" />
                ))}
                {markers.map((ms) => (
                  <div
                    key={ms}
                    className="ttft-marker"
                    style={{ left: pct(ms) }}
                    data-testid="ttft-marker"
                    title={`first token at ${formatMs(ms)}`}
                  />
                ))}
              </div>
              {shown.length === 0 && <p className="muted wf-none">No span matches “{query}”.</p>}
              {shown.map((row, index) => (
                <SpanRow
                  key={row.key}
                  row={row}
                  index={index}
                  view={view}
                  trackPx={trackPx}
                  collapsed={collapsed.has(row.key)}
                  match={query.trim() !== '' && search.matches.has(row.key)}
                  selected={row.key === selectedKey}
                  onToggle={() => toggle(row.key)}
                  onSelect={() => setSelectedKey(row.key === selectedKey ? null : row.key)}
                  onKeyDown={onRowKey}
                />
              ))}
            </div>
          </div>
        </div>
        {selected && <SpanDetails row={selected} onClose={() => setSelectedKey(null)} />}
      </div>
    </div>
  );
}

interface SpanRowProps {
  row: DrawnRow;
  index: number;
  view: Window;
  trackPx: number;
  collapsed: boolean;
  match: boolean;
  selected: boolean;
  onToggle(): void;
  onSelect(): void;
  onKeyDown(event: KeyboardEvent<HTMLDivElement>, row: DrawnRow, index: number): void;
}

function SpanRow({
  row,
  index,
  view,
  trackPx,
  collapsed,
  match,
  selected,
  onToggle,
  onSelect,
  onKeyDown,
}: SpanRowProps) {
  const { span, kind } = row;
  const info = SPAN_KINDS[kind];
  const windowMs = view.end - view.start;
  const from = (row.startMs - view.start) / windowMs;
  const to = (row.startMs + row.durationMs - view.start) / windowMs;
  const outside = to < 0 || from > 1;
  const left = Math.max(0, from);
  const width = Math.max(0, Math.min(1, to) - left);
  const error = span.statusCode === 'Error';
  const label = [formatMs(row.durationMs), row.usage, error ? 'error' : ''].filter(Boolean).join(' · ');
  const side = placeBarLabel(from, to, trackPx, estimateLabelPx(label));
  const labelStyle =
    side === 'after'
      ? { left: `calc(${Math.min(1, to) * 100}% + 4px)` }
      : side === 'before'
        ? { right: `calc(${(1 - left) * 100}% + 4px)` }
        : { right: 0 };
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: arrow keys from the row's buttons bubble here; a click on the bar selects as the name's button does by keyboard
    <div
      className={`span-row ${selected ? 'selected' : ''} ${match ? 'match' : ''}`}
      onClick={(e) => {
        if ((e.target as HTMLElement).closest('.span-track')) onSelect();
      }}
      data-testid="span-row"
      data-span-name={span.spanName}
      data-kind={kind}
      onKeyDown={(e) => onKeyDown(e, row, index)}
    >
      <div className="span-label" style={{ paddingLeft: row.depth * 12 }}>
        {row.childCount > 0 ? (
          <button
            type="button"
            className="wf-disclosure"
            aria-expanded={!collapsed}
            aria-label={`${collapsed ? 'Expand' : 'Collapse'} ${span.spanName} (${row.childCount} child span${row.childCount === 1 ? '' : 's'})`}
            onClick={onToggle}
            data-testid="span-toggle"
          >
            <span aria-hidden="true">{collapsed ? '▸' : '▾'}</span>
          </button>
        ) : (
          <span className="wf-disclosure-space" />
        )}
        <span className="wf-tag" style={{ background: info.color }} title={info.label} data-testid="span-kind">
          {info.tag}
        </span>
        <button
          type="button"
          className="span-select"
          aria-pressed={selected}
          onClick={onSelect}
          title={`${span.spanName} · ${info.label}${row.usage ? ` · ${row.usage}` : ''}`}
        >
          {span.spanName}
          {row.usage && <span className="span-usage" data-testid="span-usage">{` ${row.usage}`}</span>}
        </button>
      </div>
      <div className="span-track">
        {!outside && (
          <>
            <span
              className={`span-bar ${error ? 'error' : ''}`}
              style={{ left: `${left * 100}%`, width: `max(2px, ${width * 100}%)`, background: info.color }}
              data-testid="span-bar"
            />
            <span className={`span-duration ${side}`} style={labelStyle} data-testid="span-duration">
              {label}
            </span>
          </>
        )}
      </div>
    </div>
  );
}

function SpanDetails({ row, onClose }: { row: DrawnRow; onClose(): void }) {
  const { span } = row;
  const info = SPAN_KINDS[row.kind];
  const usage = llmUsageOf(span.spanAttributes);
  const attributes = Object.entries(span.spanAttributes);
  return (
    <aside className="span-details" data-testid="span-details" aria-label={`Span ${span.spanName}`}>
      <div className="span-details-head">
        <h3>{span.spanName}</h3>
        <button type="button" onClick={onClose} aria-label="Close span details">
          ×
        </button>
      </div>
      <dl className="wf-facts">
        <dt>kind</dt>
        <dd>
          <span className="wf-tag" style={{ background: info.color }}>
            {info.tag}
          </span>{' '}
          {info.label}
        </dd>
        <dt>duration</dt>
        <dd>{formatMs(row.durationMs)}</dd>
        <dt>starts at</dt>
        <dd>{formatMs(row.startMs)}</dd>
        <dt>status</dt>
        <dd className={span.statusCode === 'Error' ? 'error-text' : ''}>
          {span.statusCode}
          {span.statusMessage ? `: ${span.statusMessage}` : ''}
        </dd>
        <dt>service</dt>
        <dd>{span.serviceName || '—'}</dd>
        {usage && (
          <>
            <dt>model</dt>
            <dd data-testid="llm-model">{usage.model ?? '—'}</dd>
            <dt>tokens</dt>
            <dd data-testid="llm-tokens">
              {usage.inputTokens ?? '—'} input · {usage.outputTokens ?? '—'} output · {usage.totalTokens ?? '—'} total
            </dd>
            {usage.cost !== null && (
              <>
                <dt>cost</dt>
                <dd data-testid="llm-cost">{formatCost(usage.cost)}</dd>
              </>
            )}
          </>
        )}
      </dl>
      <p className="mono muted wf-ids">
        trace {span.traceId} · span {span.spanId}
      </p>
      {attributes.length > 0 && (
        <>
          <h4>Attributes</h4>
          <table className="wf-attrs">
            <tbody>
              {attributes.map(([key, value]) => (
                <tr key={key}>
                  <th scope="row" className="mono">
                    {key}
                  </th>
                  <td className="mono">{value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {span.events.length > 0 && (
        <>
          <h4>Events</h4>
          <ul className="wf-events">
            {span.events.map((event, i) => (
              <li key={`${event.name}:${i}`}>
                <strong>{event.name}</strong>{' '}
                <span className="muted">
                  +{formatMs(Number(BigInt(event.timestamp) - BigInt(span.timestamp)) / 1e6)}
                </span>
                {Object.entries(event.attributes).map(([k, v]) => (
                  <div key={k} className="mono">
                    {k}: {v}
                  </div>
                ))}
              </li>
            ))}
          </ul>
        </>
      )}
    </aside>
  );
}
