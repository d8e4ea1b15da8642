import type { TraceSpan } from './types.ts';

/** Nanoseconds since the epoch, well past 2^53, as the api sends them. */
export const T0 = 1_790_000_000_000_000_000n;

/** A span of trace `t1` for unit tests: start and duration in microseconds from {@link T0}; named after its id. */
export const testSpan = (
  spanId: string,
  parentSpanId: string,
  startUs: number,
  durationUs: number,
  extra: Partial<TraceSpan> = {},
): TraceSpan =>
  ({
    timestamp: String(T0 + BigInt(startUs) * 1000n),
    duration: String(durationUs * 1000),
    traceId: 't1',
    spanId,
    parentSpanId,
    spanName: spanId,
    serviceName: 'svc',
    statusMessage: '',
    spanAttributes: {},
    events: [],
    ...extra,
  }) as TraceSpan;
