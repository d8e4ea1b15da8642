import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Empty, ErrorState, Loading } from '../components/States.tsx';
import { formatMs } from '../lib/format.ts';
import type { Run } from '../lib/types.ts';
import { layoutWaterfall, type WaterfallRow } from '../lib/waterfall.ts';
import { useTRPC } from '../trpc.ts';
import './TraceView.css';

/** The run's OpenTelemetry trace (`runs.trace`) as a waterfall: spans on one time axis, each under its parent. */
export function TraceView({ run }: { run: Run }) {
  const trpc = useTRPC();
  const trace = useQuery(trpc.runs.trace.queryOptions({ runId: run.id }));
  const waterfall = useMemo(() => layoutWaterfall(trace.data ?? []), [trace.data]);
  const [hovered, setHovered] = useState<WaterfallRow | null>(null);
  if (trace.isPending) return <Loading what="the trace" />;
  if (trace.error) return <ErrorState error={trace.error} what="the trace" />;
  if (waterfall.rows.length === 0) {
    return (
      <Empty>No spans for this run: its steps carry no trace id, or nothing was exported to /v1/traces yet.</Empty>
    );
  }
  const total = waterfall.totalMs || 1;
  const pct = (ms: number) => `${(ms / total) * 100}%`;
  return (
    <div className="card waterfall" data-testid="waterfall">
      <div className="waterfall-axis">
        <span>0</span>
        <span>{formatMs(total / 2)}</span>
        <span>{formatMs(total)}</span>
      </div>
      <div className="waterfall-body">
        {waterfall.firstTokenMs.map((ms) => (
          <div
            key={ms}
            className="ttft-marker"
            style={{ left: `calc(var(--label-width) + (100% - var(--label-width)) * ${ms / total})` }}
            data-testid="ttft-marker"
            title={`first token at ${formatMs(ms)}`}
          >
            <span>first token {formatMs(ms)}</span>
          </div>
        ))}
        {waterfall.rows.map((row) => (
          <button
            type="button"
            key={`${row.span.traceId}:${row.span.spanId}`}
            className={`span-row ${hovered === row ? 'selected' : ''}`}
            data-testid="span-row"
            data-span-name={row.span.spanName}
            onMouseEnter={() => setHovered(row)}
            onFocus={() => setHovered(row)}
          >
            <div className="span-label" style={{ paddingLeft: row.depth * 14 }} title={row.span.spanName}>
              {row.span.spanName}
            </div>
            <div className="span-track">
              <div
                className={`span-bar ${row.span.statusCode === 'Error' ? 'error' : ''}`}
                style={{ left: pct(row.startMs), width: `max(2px, ${pct(row.durationMs)})` }}
              />
              <span className="span-duration" style={{ left: pct(row.startMs + row.durationMs) }}>
                {formatMs(row.durationMs)}
              </span>
            </div>
          </button>
        ))}
      </div>
      {hovered && <SpanDetails row={hovered} />}
    </div>
  );
}

function SpanDetails({ row }: { row: WaterfallRow }) {
  const { span } = row;
  const attributes = Object.entries(span.spanAttributes);
  return (
    <div className="span-details" data-testid="span-details">
      <strong>{span.spanName}</strong> · {formatMs(row.durationMs)} · starts at {formatMs(row.startMs)} ·{' '}
      {span.serviceName} · {span.statusCode}
      {span.statusMessage ? `: ${span.statusMessage}` : ''}
      <div className="mono muted">
        trace {span.traceId} · span {span.spanId}
      </div>
      {attributes.length > 0 && (
        <table>
          <tbody>
            {attributes.map(([key, value]) => (
              <tr key={key}>
                <td className="mono">{key}</td>
                <td className="mono">{value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
