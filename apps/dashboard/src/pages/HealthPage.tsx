import { useQuery } from '@tanstack/react-query';
import { ErrorState, Loading } from '../components/States.tsx';
import { formatCount, formatMs, formatTime } from '../lib/format.ts';
import { type BackendHealthRow, overallHealth, type TelemetryHealth } from '../lib/health-status.ts';
import { formatBytes } from '../lib/units.ts';
import { useTRPC } from '../trpc.ts';
import './HealthPage.css';

/** How often the numbers refresh: the same counters `/metrics` exposes, read as JSON. */
const REFRESH_MS = 2000;

/** The words for `POST /v1/traces` outcomes, in the order shown. */
const OUTCOMES: Record<string, string> = {
  accepted: 'accepted',
  partial: 'partly accepted (some spans refused)',
  malformed: 'malformed (400)',
  too_large: 'too large (413)',
  unsupported: 'unsupported type or encoding (415)',
  unauthorized: 'no or bad API key (401)',
  not_implemented: 'OTLP off (501)',
  unavailable: 'ClickHouse unavailable (503)',
  internal: 'server error (500)',
};

const LEVEL_WORDS = { healthy: 'Healthy', degraded: 'Degraded', failing: 'Failing' } as const;

/**
 * Telemetry health of the caller's organization: an overall status with its reasons, provider-trace writes and
 * latency per backend, and OTLP ingest counters; figures shared by every organization are labelled as such.
 */
export function HealthPage() {
  const trpc = useTRPC();
  const health = useQuery(trpc.providerTraces.health.queryOptions(undefined, { refetchInterval: REFRESH_MS }));
  return (
    <section className="page health-page">
      <h1>Telemetry health</h1>
      <p className="muted">
        Your organization's provider-trace writes per configured backend (TELEMETRY_PROVIDER_TRACE_BACKEND) and its
        OpenTelemetry spans (POST /v1/traces), counted since the api started. Refreshed every {REFRESH_MS / 1000} s
        {health.dataUpdatedAt ? `; last at ${formatTime(new Date(health.dataUpdatedAt).toISOString())}` : ''}.
      </p>
      {health.isPending ? (
        <Loading what="telemetry health" />
      ) : health.error ? (
        <ErrorState error={health.error} what="telemetry health" />
      ) : (
        <HealthReport health={health.data} />
      )}
    </section>
  );
}

function HealthReport({ health }: { health: TelemetryHealth }) {
  const status = overallHealth(health);
  return (
    <>
      <div className={`card health-status ${status.level}`} data-testid="health-status" data-level={status.level}>
        <h2>
          <span className="health-dot" aria-hidden="true" />
          {LEVEL_WORDS[status.level]}
        </h2>
        <ul>
          {status.reasons.map((reason) => (
            <li key={reason}>{reason}</li>
          ))}
        </ul>
      </div>
      <div className="card">
        <h2>Provider-trace backends</h2>
        {health.backends.length === 0 ? (
          <p className="muted">No telemetry backend is configured.</p>
        ) : (
          <BackendTable backends={health.backends} now={health.now} />
        )}
        <p className="muted health-note">
          Writes, latency, drops and possible losses are your organization's only. Latency: p50/p99 of your successful
          awaited writes, estimated from the buckets of the api's write histogram (as /metrics reports it). Queue and
          reconnects are the backend's own, shared by every organization.
        </p>
      </div>
      <OtlpCounters otlp={health.otlp} now={health.now} />
    </>
  );
}

const ms = (value: number | null) => (value === null ? '—' : formatMs(value));
const since = (now: number, at: number | null) => (at === null ? 'never' : `${formatMs(Math.max(0, now - at))} ago`);

function BackendTable({ backends, now }: { backends: BackendHealthRow[]; now: number }) {
  return (
    <table className="health health-cards" data-testid="health">
      <thead>
        <tr>
          <th scope="col">backend</th>
          <th scope="col">writes ok</th>
          <th scope="col">failed</th>
          <th scope="col">timed out</th>
          <th scope="col">p50</th>
          <th scope="col">p99</th>
          <th scope="col">last write ok</th>
          <th scope="col">
            queue <span className="health-shared">(all orgs)</span>
          </th>
          <th scope="col">dropped</th>
          <th scope="col" title="written to the sidecar without acknowledgement before it crashed: an upper bound">
            possibly lost
          </th>
          <th scope="col">
            reconnects <span className="health-shared">(all orgs)</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {backends.map((b) => (
          <tr key={b.backend} data-testid="health-row" data-backend={b.backend}>
            <th scope="row" data-label="backend">
              {b.backend}
            </th>
            <Cell label="writes ok" testId="writes-ok" value={formatCount(b.writesOk)} />
            <Cell label="failed" value={formatCount(b.writesFailed)} bad={b.writesFailed > 0} />
            <Cell label="timed out" value={formatCount(b.writesTimedOut)} bad={b.writesTimedOut > 0} />
            <Cell label="p50" testId="latency-p50" value={ms(b.latency.p50Ms)} />
            <Cell label="p99" testId="latency-p99" value={ms(b.latency.p99Ms)} />
            <Cell label="last write ok" value={since(now, b.lastOkAt)} />
            <Cell
              label="queue (all orgs)"
              testId="queue"
              value={`${formatCount(b.queueDepth)} · ${formatBytes(b.queueBytes)}`}
            />
            <Cell label="dropped" value={formatCount(b.dropped)} bad={b.dropped > 0} />
            <Cell label="possibly lost" value={formatCount(b.possiblyLost)} bad={b.possiblyLost > 0} />
            <Cell label="reconnects (all orgs)" value={formatCount(b.reconnects)} />
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function OtlpCounters({ otlp, now }: { otlp: TelemetryHealth['otlp']; now: number }) {
  const requests = Object.entries(otlp.requests).filter(
    ([outcome, n]) => n > 0 || outcome === 'accepted' || outcome === 'partial',
  );
  return (
    <div className="card" data-testid="otlp">
      <h2>OpenTelemetry spans (POST /v1/traces)</h2>
      {!otlp.enabled && <p className="muted">OTLP ingest is off on this api (CLICKHOUSE_URL=off).</p>}
      <div className="health-grid">
        <section aria-labelledby="otlp-spans">
          <h3 id="otlp-spans">Your spans</h3>
          <dl className="health-facts">
            <Figure term="written" testId="otlp-written" value={formatCount(otlp.spans.written)} />
            <Figure
              term="refused for their data"
              testId="otlp-rejected"
              value={formatCount(otlp.spans.rejected)}
              bad={otlp.spans.rejected > 0}
            />
            <Figure
              term="failed (ClickHouse down or behind)"
              value={formatCount(otlp.spans.failed)}
              bad={otlp.spans.failed > 0}
            />
            <Figure term="last written" value={since(now, otlp.lastWrittenAt)} />
          </dl>
        </section>
        <section aria-labelledby="otlp-requests">
          <h3 id="otlp-requests">Your requests</h3>
          <dl className="health-facts" data-testid="otlp-requests">
            {requests.map(([outcome, n]) => (
              <Figure
                key={outcome}
                term={OUTCOMES[outcome] ?? outcome}
                testId={`otlp-requests-${outcome}`}
                value={formatCount(n)}
                bad={n > 0 && outcome !== 'accepted'}
              />
            ))}
          </dl>
        </section>
        <section aria-labelledby="otlp-reasons">
          <h3 id="otlp-reasons">Refused spans by reason</h3>
          {otlp.rejectedByReason.length === 0 ? (
            <p className="muted">None refused.</p>
          ) : (
            <ul className="health-reasons" data-testid="otlp-reasons">
              {otlp.rejectedByReason.map((r) => (
                <li key={r.reason}>
                  {r.reason}: <strong>{formatCount(r.spans)}</strong>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section aria-labelledby="otlp-server" className="health-server">
          <h3 id="otlp-server">Server-wide (every organization; names none)</h3>
          <dl className="health-facts" data-testid="otlp-server">
            <Figure
              term="spans waiting for their INSERT"
              value={`${formatCount(otlp.server.queueDepth)} · ${formatBytes(otlp.server.queueBytes)}`}
            />
            {otlp.server.unattributedRequests.map((r) => (
              <Figure
                key={r.outcome}
                term={`requests refused before any caller was known: ${OUTCOMES[r.outcome] ?? r.outcome}`}
                value={formatCount(r.requests)}
              />
            ))}
          </dl>
        </section>
      </div>
    </div>
  );
}

/** A figure of a backend's row; `label` names it when the row is drawn as a card (narrow screens). */
function Cell({ label, value, testId, bad }: { label: string; value: string; testId?: string; bad?: boolean }) {
  return (
    <td data-label={label} data-testid={testId} className={bad ? 'error-text' : ''}>
      {value}
    </td>
  );
}

/** One term and its value in a definition list (grouped, so the list stays valid HTML). */
function Figure({ term, value, testId, bad }: { term: string; value: string; testId?: string; bad?: boolean }) {
  return (
    <div className="health-fact">
      <dt>{term}</dt>
      <dd data-testid={testId} className={bad ? 'error-text' : ''}>
        {value}
      </dd>
    </div>
  );
}
