import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BackendName, BackendStats, ProviderTraceBackend } from './backend.ts';

export type WriteResult = 'ok' | 'failed' | 'timeout';

export interface BackendHealth extends BackendStats {
  backend: BackendName;
  writesOk: number;
  writesFailed: number;
  writesTimedOut: number;
}

/**
 * Per-backend counters behind `GET /metrics` (Prometheus) and the dashboard's health procedure, so both show the
 * same numbers. Queue depth, drops and reconnects are read from the backends when scraped.
 */
export class TelemetryMetrics {
  readonly registry = new Registry();
  readonly #writes: Counter<'backend' | 'result'>;
  readonly #latency: Histogram<'backend'>;
  readonly #counts = new Map<string, number>();
  readonly #children = new Map<string, { inc(): void }>();
  readonly #histograms = new Map<string, { observe(value: number): void }>();
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
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    const stat = (name: string, help: string, key: keyof BackendStats, type: 'gauge' | 'counter') => {
      const read = () => this.#backends.map((b) => [b.name, b.stats()[key]] as const);
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
    stat('runtrace_provider_trace_queue_depth', 'Records accepted but not yet written, per backend.', 'queueDepth', 'gauge');
    stat('runtrace_provider_trace_queue_bytes', 'Bytes of those records, per backend.', 'queueBytes', 'gauge');
    stat('runtrace_provider_trace_dropped_total', 'Records a backend dropped (overflow, failure).', 'dropped', 'counter');
    stat('runtrace_provider_trace_reconnects_total', 'Connections a backend re-established.', 'reconnects', 'counter');
  }

  /** The backends whose stats are reported. */
  watch(backends: readonly ProviderTraceBackend[]): void {
    this.#backends = backends;
    for (const b of backends) for (const r of ['ok', 'failed', 'timeout'] as const) this.#writes.inc({ backend: b.name, result: r }, 0);
  }

  recordWrite(backend: BackendName, result: WriteResult, seconds?: number): void {
    // Bound children skip hashing the label set on every write (this runs once per trace per backend).
    let child = this.#children.get(`${backend}:${result}`);
    if (!child) {
      child = this.#writes.labels({ backend, result });
      this.#children.set(`${backend}:${result}`, child);
    }
    child.inc();
    const key = `${backend}:${result}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    if (result === 'ok' && seconds !== undefined) {
      let histogram = this.#histograms.get(backend);
      if (!histogram) {
        histogram = this.#latency.labels({ backend });
        this.#histograms.set(backend, histogram);
      }
      histogram.observe(seconds);
    }
  }

  /** The same numbers as /metrics, as JSON, per backend in config order. */
  health(): BackendHealth[] {
    return this.#backends.map((b) => ({
      backend: b.name,
      writesOk: this.#counts.get(`${b.name}:ok`) ?? 0,
      writesFailed: this.#counts.get(`${b.name}:failed`) ?? 0,
      writesTimedOut: this.#counts.get(`${b.name}:timeout`) ?? 0,
      ...b.stats(),
    }));
  }

  /** Prometheus text exposition. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
