import { useQuery } from '@tanstack/react-query';
import { Empty, ErrorState, Loading } from '../components/States.tsx';
import { formatCount, formatTime } from '../lib/format.ts';
import { useTRPC } from '../trpc.ts';

/** How often the numbers refresh: the same counters `/metrics` exposes, read as JSON. */
const REFRESH_MS = 2000;

export function HealthPage() {
  const trpc = useTRPC();
  const health = useQuery(trpc.providerTraces.health.queryOptions(undefined, { refetchInterval: REFRESH_MS }));
  return (
    <section className="page">
      <h1>Telemetry health</h1>
      <p className="muted">
        Your organization's provider-trace writes per configured backend (TELEMETRY_PROVIDER_TRACE_BACKEND); queue and
        reconnects are the backend's own. Refreshed every {REFRESH_MS / 1000} s
        {health.dataUpdatedAt ? `; last at ${formatTime(new Date(health.dataUpdatedAt).toISOString())}` : ''}.
      </p>
      {health.isPending ? (
        <Loading what="telemetry health" />
      ) : health.error ? (
        <ErrorState error={health.error} what="telemetry health" />
      ) : health.data.backends.length === 0 ? (
        <Empty>No telemetry backend is configured.</Empty>
      ) : (
        <table className="health" data-testid="health">
          <thead>
            <tr>
              <th>backend</th>
              <th>writes ok</th>
              <th>failed</th>
              <th>timed out</th>
              <th>queue depth</th>
              <th>queue bytes</th>
              <th>dropped</th>
              <th title="written to the sidecar without acknowledgement before it crashed: an upper bound">
                possibly lost
              </th>
              <th>reconnects</th>
            </tr>
          </thead>
          <tbody>
            {health.data.backends.map((b) => (
              <tr key={b.backend} data-testid="health-row" data-backend={b.backend}>
                <td>{b.backend}</td>
                <td data-testid="writes-ok">{formatCount(b.writesOk)}</td>
                <td className={b.writesFailed ? 'error-text' : ''}>{formatCount(b.writesFailed)}</td>
                <td className={b.writesTimedOut ? 'error-text' : ''}>{formatCount(b.writesTimedOut)}</td>
                <td>{formatCount(b.queueDepth)}</td>
                <td>{formatCount(b.queueBytes)}</td>
                <td className={b.dropped ? 'error-text' : ''}>{formatCount(b.dropped)}</td>
                <td className={b.possiblyLost ? 'error-text' : ''}>{formatCount(b.possiblyLost)}</td>
                <td>{formatCount(b.reconnects)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
