/** What {@link runDuration} reads of a run. */
export interface TimedRun {
  totalDurationNs: string | null;
  ttftNs: string | null;
  createdAt: string;
  completedAt: string | null;
}

export type DurationSource = 'recorded' | 'reported' | 'elapsed';

export interface RunDuration {
  /** Nanoseconds, or null when nothing measured it. */
  ns: number | null;
  source: DurationSource;
  /** Why this figure: the tooltip of every place the duration is shown. */
  explanation: string;
}

/**
 * The one duration the dashboard shows for a run: the api's `totalDurationNs`, which once the run has ended is
 * run_metrics.run_ns — from the run's creation on the api to its first terminal status, unless the producer sent a
 * total with that terminal update. It is what the runs list sorts by and the overview's percentiles are made of, so
 * the run page must not show another. While the run is active it is the producer's figure so far, or the time since
 * the run's creation.
 */
export function runDuration(run: TimedRun, nowMs: number = Date.now()): RunDuration {
  const created = Date.parse(run.createdAt);
  if (run.completedAt !== null) {
    if (run.totalDurationNs !== null) {
      return { ns: Number(run.totalDurationNs), source: 'recorded', explanation: RECORDED };
    }
    return { ns: (Date.parse(run.completedAt) - created) * 1e6, source: 'elapsed', explanation: ELAPSED_ENDED };
  }
  if (run.totalDurationNs !== null) {
    return { ns: Number(run.totalDurationNs), source: 'reported', explanation: REPORTED };
  }
  return { ns: Math.max(0, nowMs - created) * 1e6, source: 'elapsed', explanation: ELAPSED_ACTIVE };
}

const RECORDED =
  "Recorded by Runtrace when the run ended (run_metrics.run_ns): from the run's creation on the api to its first " +
  'terminal status, or the total duration the producer sent with that final update. The runs list sorts by this ' +
  "figure and the overview's duration percentiles use it.";
const REPORTED =
  'Reported by the producer so far; when the run ends, Runtrace records the time from its creation to its end ' +
  'unless the final update carries a total duration.';
const ELAPSED_ACTIVE = "Time since the run's creation on the api: the run has not ended.";
const ELAPSED_ENDED = "From the run's creation to its completion on the api: no duration was recorded.";

/** The tooltip of the time to first token. */
export const TTFT_EXPLANATION =
  "Time to first token, measured by the producer on its own clock from the start of its request to the run's first " +
  'token. The duration is measured on the api from when the run was created there, so the two can disagree when ' +
  'the producer started before creating the run, or sent its own total before the final update.';

/**
 * Whether the run's time to first token exceeds its duration: impossible on one clock, so the page says the two
 * figures come from different clocks instead of leaving the reader to wonder.
 */
export function clocksDisagree(run: TimedRun, duration: RunDuration = runDuration(run)): boolean {
  return run.ttftNs !== null && duration.ns !== null && Number(run.ttftNs) > duration.ns;
}
