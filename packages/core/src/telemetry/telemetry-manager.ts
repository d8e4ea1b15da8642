import type { Actor } from '../actor.ts';
import { NotImplemented } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ProviderTraceBackend } from './backend.ts';
import { type BackendName, type BackendRegistry, providerTraceBackends } from './backend-registry.ts';
import { type ProviderTrace, type ProviderTraceInput, toProviderTrace } from './provider-trace.ts';
import { TelemetryMetrics } from './telemetry-metrics.ts';

export interface TelemetryManagerOptions {
  /** In configuration order: the first that can read is the primary. */
  backends: readonly ProviderTraceBackend[];
  logger: Logger;
  metrics?: TelemetryMetrics;
  /**
   * How long an awaited write waits for each backend before counting it as timed out: one number for all, or per
   * name. @default each backend's `writeTimeoutMs` in `registry` (5000 for a backend not in it)
   */
  timeoutMs?: number | Partial<Record<BackendName, number>>;
  /** Where the backends' declared defaults are looked up by name. @default providerTraceBackends */
  registry?: BackendRegistry;
}

const DEFAULT_TIMEOUT_MS = 5000;

class TimeoutError extends Error {}

/**
 * Provider traces to every configured backend at once. A failing, slow or hanging backend is isolated: it is logged
 * with its name and counted, and never raises to the caller (telemetry must never break the agent).
 */
export class TelemetryManager {
  readonly backends: readonly ProviderTraceBackend[];
  readonly metrics: TelemetryMetrics;
  readonly #logger: Logger;
  readonly #timeouts: Record<string, number>;
  readonly #background = new Set<Promise<unknown>>();
  readonly #reader: ProviderTraceBackend | undefined;
  readonly #logState = new Map<string, { lastAt: number; suppressed: number }>();
  readonly #deadlines = new Set<{ deadline: number; reject: (err: unknown) => void }>();
  #sweeper: NodeJS.Timeout | null = null;

  constructor(options: TelemetryManagerOptions) {
    this.backends = options.backends;
    this.#logger = options.logger;
    this.metrics = options.metrics ?? new TelemetryMetrics();
    this.metrics.watch(this.backends);
    this.#timeouts = timeouts(options.timeoutMs, options.registry ?? providerTraceBackends, this.backends);
    this.#reader = this.backends.find((b) => b.readByStep);
  }

  /** The primary: the first configured backend that can read, if any. */
  get primary(): ProviderTraceBackend | undefined {
    return this.#reader;
  }

  /**
   * Writes to all backends concurrently with one id and returns the first non-null result in configuration order
   * (null when every backend failed or none can promise durability). Backends after that one keep writing; they
   * are still counted and logged, and close() waits for them.
   */
  async create(actor: Actor, input: ProviderTraceInput | ProviderTrace): Promise<ProviderTrace | null> {
    const trace = toProviderTrace(input);
    const writes = this.backends.map((backend) =>
      backend.createNow ? this.#createNow(backend, actor, trace) : this.#timedCreate(backend, actor, trace),
    );
    for (const write of writes) if (write instanceof Promise) this.#track(write);
    for (const write of writes) {
      const result = write instanceof Promise ? await write : write;
      if (result) return result;
    }
    return null;
  }

  /** Fire-and-forget to every backend: returns the trace id at once; never throws for a backend's sake. */
  enqueue(actor: Actor, input: ProviderTraceInput | ProviderTrace): string {
    const trace = toProviderTrace(input);
    for (const backend of this.backends) {
      try {
        backend.enqueue(actor, trace);
      } catch (err) {
        this.#failed(actor, backend, err);
      }
    }
    return trace.id;
  }

  /** The newest trace of a step from the primary backend, or null. */
  async readByStep(actor: Actor, stepId: string): Promise<ProviderTrace | null> {
    return this.#primaryOrThrow().readByStep?.(actor, stepId) ?? null;
  }

  /** A run's traces from the primary backend, oldest first. */
  async listByRun(actor: Actor, runId: string, limit: number): Promise<ProviderTrace[]> {
    const primary = this.#primaryOrThrow();
    return primary.listByRun ? primary.listByRun(actor, runId, limit) : [];
  }

  /** Removes a run's traces from every backend that keeps them. */
  async deleteByRun(actor: Actor, runId: string): Promise<void> {
    await Promise.all(this.backends.map((b) => b.deleteByRun?.(actor, runId)));
  }

  /** Resolves once the writes that backends after the answering one were still making have settled. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#background]);
  }

  /** Waits for background writes, then drains and closes every backend. */
  async close(): Promise<void> {
    await this.idle();
    await Promise.allSettled(this.backends.map((b) => b.close()));
  }

  #primaryOrThrow(): ProviderTraceBackend {
    if (this.#reader) return this.#reader;
    throw new NotImplemented(
      `No configured telemetry backend can read provider traces (TELEMETRY_PROVIDER_TRACE_BACKEND=${this.backends
        .map((b) => b.name)
        .join(',')}); add postgres or clickhouse`,
    );
  }

  #track(write: Promise<unknown>): void {
    this.#background.add(write);
    void write.finally(() => this.#background.delete(write));
  }

  /** A write answered on return: counted and timed like the others, with nothing to time out. */
  #createNow(backend: ProviderTraceBackend, actor: Actor, trace: ProviderTrace): ProviderTrace | null {
    const started = performance.now();
    try {
      const result = backend.createNow?.(actor, trace) ?? null;
      this.metrics.recordWrite(actor.organizationId, backend.name, 'ok', (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      this.#failed(actor, backend, err);
      return null;
    }
  }

  async #timedCreate(backend: ProviderTraceBackend, actor: Actor, trace: ProviderTrace): Promise<ProviderTrace | null> {
    const started = performance.now();
    try {
      const result = await this.#withDeadline(backend.create(actor, trace), started + this.#timeouts[backend.name]!);
      this.metrics.recordWrite(actor.organizationId, backend.name, 'ok', (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      this.#failed(actor, backend, err);
      return null;
    }
  }

  /**
   * Rejects with TimeoutError when `write` has not settled by `deadline`. One sweeper timer serves every pending
   * write: a timer per call would cost more than the socket backend's whole write.
   */
  #withDeadline<T>(write: Promise<T>, deadline: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry = { deadline, reject };
      this.#deadlines.add(entry);
      this.#sweepSoon();
      write.then(
        (value) => {
          this.#deadlines.delete(entry);
          resolve(value);
        },
        (err: unknown) => {
          this.#deadlines.delete(entry);
          reject(err);
        },
      );
    });
  }

  #sweepSoon(): void {
    if (this.#sweeper) return;
    const interval = Math.max(10, Math.min(...Object.values(this.#timeouts)) / 4);
    this.#sweeper = setInterval(() => {
      const now = performance.now();
      for (const entry of this.#deadlines) {
        if (entry.deadline <= now) {
          this.#deadlines.delete(entry);
          entry.reject(new TimeoutError(`no answer within the backend's timeout`));
        }
      }
      if (this.#deadlines.size === 0 && this.#sweeper) {
        clearInterval(this.#sweeper);
        this.#sweeper = null;
      }
    }, interval);
    this.#sweeper.unref();
  }

  #failed(actor: Actor, backend: ProviderTraceBackend, err: unknown): void {
    const timedOut = err instanceof TimeoutError;
    this.metrics.recordWrite(actor.organizationId, backend.name, timedOut ? 'timeout' : 'failed');
    // A dead backend fails every write: log the first, then at most once a second with how many were not logged.
    const now = Date.now();
    const state = this.#logState.get(backend.name) ?? { lastAt: 0, suppressed: 0 };
    if (now - state.lastAt < 1000) {
      state.suppressed += 1;
    } else {
      const more = state.suppressed ? ` (and ${state.suppressed} more since the last report)` : '';
      this.#logger.warn(
        { backend: backend.name, err },
        `provider trace write to ${backend.name} ${timedOut ? 'timed out' : 'failed'}${more}`,
      );
      state.lastAt = now;
      state.suppressed = 0;
    }
    this.#logState.set(backend.name, state);
  }
}

/** Each configured backend's timeout: the option's, else what its registry entry declares, else the default. */
function timeouts(
  option: TelemetryManagerOptions['timeoutMs'],
  registry: BackendRegistry,
  backends: readonly ProviderTraceBackend[],
): Record<string, number> {
  const byName: Readonly<Record<string, number | undefined>> = typeof option === 'object' ? option : {};
  const result: Record<string, number> = {};
  for (const { name } of backends) {
    result[name] =
      typeof option === 'number' ? option : (byName[name] ?? registry[name]?.writeTimeoutMs ?? DEFAULT_TIMEOUT_MS);
  }
  return result;
}
