import { int } from './stats.ts';
import type { SubscriberClient } from './stream-subscribers.ts';

export interface StreamScenario {
  name: string;
  runs: number;
  subscribersPerRun: number;
  /** Appended events per second over all runs (one event per appendEvents call, open loop). */
  eventsPerSecond: number;
  seconds: number;
  /** Runs that also get an XRANGE poller (Letta's reader: XRANGE, then sleep 100 ms when nothing new). */
  polledRuns: number;
  /** How the subscribers read (bench/stream-subscribers.ts): as a load generator (`sse`) or through @runtrace/client. */
  subscriber: SubscriberClient;
  targets: { p50?: number; p99?: number; pollRatio?: number };
}

/**
 * (a) and (b), each read by load-generator subscribers (the targets apply to these, as a server's latency is measured
 * by wrk rather than by a client library) and again through @runtrace/client (printed beside, no target).
 */
export function streamScenarios(seconds: number, rateScale = 1): StreamScenario[] {
  const shapes = [
    {
      name: '(a) 1,000 runs × 1 subscriber',
      runs: 1000,
      subscribersPerRun: 1,
      eventsPerSecond: 1000,
      seconds,
      polledRuns: 10,
      targets: { p50: 2, p99: 10, pollRatio: 25 },
    },
    {
      name: '(b) 1 run × 100 subscribers',
      runs: 1,
      subscribersPerRun: 100,
      eventsPerSecond: 100,
      seconds,
      polledRuns: 1,
      targets: { p99: 20, pollRatio: 25 },
    },
  ];
  const scenarios: StreamScenario[] = shapes.flatMap((shape) => [
    { ...shape, subscriber: 'sse' as const },
    { ...shape, name: `${shape.name}, typed client`, subscriber: 'typed' as const, targets: {} },
  ]);
  if (rateScale === 1) return scenarios;
  // At another rate the targets (set for the rates above) do not apply; the figures are printed without checks.
  return scenarios.map((sc) => ({
    ...sc,
    name: `${sc.name} at ${int(sc.eventsPerSecond * rateScale)}/s`,
    eventsPerSecond: sc.eventsPerSecond * rateScale,
    targets: {},
  }));
}
