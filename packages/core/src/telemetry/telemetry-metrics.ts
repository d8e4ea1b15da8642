import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BackendStats, OrganizationStats, ProviderTraceBackend } from './backend.ts';
import { type LatencySummary, LatencyTally } from './latency-tally.ts';
import { TimedTally } from './tally.ts';

export type WriteResult = 'ok' | 'failed' | 'timeout';

/** The write-latency histogram's buckets (seconds), on /metrics and per organization in the health view. */
const WRITE_SECONDS_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * One backend's numbers. From {@link TelemetryMetrics.health}: the counters of traces (writes, drops, possible losses)
 * are the given organization's only; queue depth/bytes and reconnects are the backend's own state, which tells
 * nothing about any tenant's traces. From {@link TelemetryMetrics.totals}: everything over all organizations.
 */
export interface BackendHealth {
  backend: string;
  writesOk: number;
  writesFailed: number;
  writesTimedOut: number;
  /** Records dropped (queue overflow, failed background writes). */
  dropped: number;
  /** Records written without acknowledgement that may be lost (a sidecar crash); an upper bound. */
  possiblyLost: number;
  /** Backend-wide: records waiting, their bytes, connections re-established. */
  queueDepth: number;
  queueBytes: number;
  reconnects: number;
  /** Awaited successful writes' latency (from {@link TelemetryMetrics.health}: the organization's own writes). */
  latency: LatencySummary;
  /** When a write last succeeded, failed or timed out, and a record was last dropped (epoch ms), or null. */
  lastOkAt: number | null;
  lastFailureAt: number | null;
  lastDroppedAt: number | null;
}

/**
 * Per-backend counters behind `GET /metrics` (Prometheus, the operator's view over all organizations) and the
 * dashboard's health procedure (a caller's view of its own organization's traces). Queue depth, drops, possible
 * losses and reconnects are read from the backends when scraped.
 */
export class TelemetryMetrics {
  readonly registry = new Registry();
  readonly #writes: Counter<'backend' | 'result'>;
  readonly #latency: Histogram<'backend'>;
  /** `backend:result` → its bound Prometheus child and the writes it counted, in total and per organization. */
  readonly #children = new Map<string, { counter: { inc(): void }; tally: TimedTally }>();
  readonly #histograms = new Map<string, { observe(value: number): void; byOrganization: LatencyTally }>();
  #backends: readonly ProviderTraceBackend[] = [];

  constructor() {
    this.#writes = new Counter({
      name: 'runtrace_provider_trace_writes_total',
      help: 'Provider-trace writes per backend by result (ok, failed, timeout).',
      labelNames: ['backend', 'result'],
      registers: [this.registry],
    });
    this.#latency = new Histogram({
      name: 'runtrace_provider_trace_write_seconds',
      help: 'Time until a backend held an awaited provider trace.',
      labelNames: ['backend'],
      buckets: [...WRITE_SECONDS_BUCKETS],
      registers: [this.registry],
    });
    const stat = (name: string, help: string, key: keyof BackendStats, type: 'gauge' | 'counter') => {
      const read = () => this.#backends.map((b) => [b.name, b.stats()[key] ?? 0] as const);
      if (type === 'gauge') {
        new Gauge({
          name,
          help,
          labelNames: ['backend'],
          registers: [this.registry],
          collect() {
            for (const [backend, value] of read()) this.set({ backend }, value);
          },
        });
        return;
      }
      // Backends keep running totals; the counter advances by what is new since the last scrape.
      const seen = new Map<string, number>();
      new Counter({
        name,
        help,
        labelNames: ['backend'],
        registers: [this.registry],
        collect() {
          for (const [backend, value] of read()) {
            const delta = value - (seen.get(backend) ?? 0);
            if (delta > 0) this.inc({ backend }, delta);
            else this.inc({ backend }, 0);
            seen.set(backend, value);
          }
        },
      });
    };
    stat(
      'runtrace_provider_trace_queue_depth',
      'Records accepted but not yet written, per backend.',
      'queueDepth',
      'gauge',
    );
    stat('runtrace_provider_trace_queue_bytes', 'Bytes of those records, per backend.', 'queueBytes', 'gauge');
    stat(
      'runtrace_provider_trace_dropped_total',
      'Records a backend dropped (overflow, failure).',
      'dropped',
      'counter',
    );
    stat(
      'runtrace_provider_trace_possibly_lost_total',
      'Records written without acknowledgement that may be lost (the socket backend: a sidecar crash); an upper bound.',
      'possiblyLost',
      'counter',
    );
    stat('runtrace_provider_trace_reconnects_total', 'Connections a backend re-established.', 'reconnects', 'counter');
  }

  /** The backends whose stats are reported. */
  watch(backends: readonly ProviderTraceBackend[]): void {
    this.#backends = backends;
    for (const b of backends)
      for (const r of ['ok', 'failed', 'timeout'] as const) this.#writes.inc({ backend: b.name, result: r }, 0);
  }

  /** Counts one write of an organization's trace (its latency when `ok`). */
  recordWrite(organizationId: string, backend: string, result: WriteResult, seconds?: number): void {
    // Bound children skip hashing the label set on every write (this runs once per trace per backend).
    const child = this.#child(backend, result);
    child.counter.inc();
    child.tally.add(organizationId);
    if (result === 'ok' && seconds !== undefined) {
      this.#histogram(backend).observe(seconds);
      this.#histogram(backend).byOrganization.observe(organizationId, seconds);
    }
  }

  /** What one organization may see, per backend in config order (see {@link BackendHealth}). */
  health(organizationId: string): BackendHealth[] {
    return this.#backends.map((b) => {
      const writes = (result: WriteResult) => this.#child(b.name, result).tally;
      const failures = [writes('failed').lastAt(organizationId), writes('timeout').lastAt(organizationId)];
      const counts = b.statsFor(organizationId);
      return {
        ...this.#row(b, b.stats(), (tally) => tally.of(organizationId), counts),
        latency: this.#histogram(b.name).byOrganization.of(organizationId),
        lastOkAt: writes('ok').lastAt(organizationId),
        lastFailureAt: latest(failures),
        lastDroppedAt: counts.lastDroppedAt ?? null,
      };
    });
  }

  /** The same counters as /metrics, over every organization, per backend in config order (without latency). */
  totals(): Omit<BackendHealth, 'latency' | 'lastOkAt' | 'lastFailureAt' | 'lastDroppedAt'>[] {
    return this.#backends.map((b) => {
      const stats = b.stats();
      return this.#row(b, stats, (tally) => tally.total, {
        dropped: stats.dropped,
        possiblyLost: stats.possiblyLost ?? 0,
      });
    });
  }

  #histogram(backend: string): { observe(value: number): void; byOrganization: LatencyTally } {
    let histogram = this.#histograms.get(backend);
    if (!histogram) {
      const child = this.#latency.labels({ backend });
      histogram = { observe: (value) => child.observe(value), byOrganization: new LatencyTally(WRITE_SECONDS_BUCKETS) };
      this.#histograms.set(backend, histogram);
    }
    return histogram;
  }

  #child(backend: string, result: WriteResult): { counter: { inc(): void }; tally: TimedTally } {
    let child = this.#children.get(`${backend}:${result}`);
    if (!child) {
      child = { counter: this.#writes.labels({ backend, result }), tally: new TimedTally() };
      this.#children.set(`${backend}:${result}`, child);
    }
    return child;
  }

  #row(
    b: ProviderTraceBackend,
    stats: BackendStats,
    writes: (tally: TimedTally) => number,
    counts: OrganizationStats,
  ): Omit<BackendHealth, 'latency' | 'lastOkAt' | 'lastFailureAt' | 'lastDroppedAt'> {
    const count = (result: WriteResult) => writes(this.#child(b.name, result).tally);
    return {
      backend: b.name,
      writesOk: count('ok'),
      writesFailed: count('failed'),
      writesTimedOut: count('timeout'),
      dropped: counts.dropped,
      possiblyLost: counts.possiblyLost,
      queueDepth: stats.queueDepth,
      queueBytes: stats.queueBytes,
      reconnects: stats.reconnects,
    };
  }

  /** Prometheus text exposition. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

/** The latest of some times (epoch ms), or null when none is set. */
function latest(times: readonly (number | null)[]): number | null {
  const set = times.filter((t): t is number => t !== null);
  return set.length ? Math.max(...set) : null;
}
