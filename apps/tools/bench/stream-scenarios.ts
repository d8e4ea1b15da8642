/** A live-stream scenario's shape and issue 17's targets for it. */
export interface StreamScenario {
  /** `(a) 1,000 runs × 1 subscriber`: its letter is what --stream-scenarios selects. */
  name: string;
  runs: number;
  subscribersPerRun: number;
  /** Runs that also get an XRANGE poller in the latency phase (Letta's reader: XRANGE, then sleep 100 ms when idle). */
  polledRuns: number;
  /**
   * Events per second the typed client's phase appends (the earlier bench's rate for the shape), at most half the
   * api's capacity: through @runtrace/client a subscription costs its process tens of µs per event.
   */
  typedClientEventsPerSecond: number;
  targets: {
    /** The api's CPU per delivered event at most this many times the floor server's. */
    floorCpuRatio?: number;
    /** The api's CPU per delivered event, µs, at most. */
    apiCpuUsPerDelivery?: number;
    /** p99, ms, under an open-loop load at half the api's capacity. */
    p99: number;
    /** The XRANGE poller's p50 at least this many times the api's p50. */
    pollRatio?: number;
    /** The typed client's CPU per event received, µs, at most. */
    typedClientCpuUsPerEvent: number;
  };
}

/** (a) and (b), with the targets of issue 17. */
export const STREAM_SCENARIOS: readonly StreamScenario[] = [
  {
    name: '(a) 1,000 runs × 1 subscriber',
    runs: 1000,
    subscribersPerRun: 1,
    polledRuns: 10,
    typedClientEventsPerSecond: 1000,
    targets: { floorCpuRatio: 1.3, p99: 10, typedClientCpuUsPerEvent: 20 },
  },
  {
    name: '(b) 1 run × 100 subscribers',
    runs: 1,
    subscribersPerRun: 100,
    polledRuns: 1,
    typedClientEventsPerSecond: 100,
    targets: { apiCpuUsPerDelivery: 10, p99: 20, pollRatio: 25, typedClientCpuUsPerEvent: 20 },
  },
];
