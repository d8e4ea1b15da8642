/** Steps a time axis may use: 1, 2 and 5 times a power of ten (in milliseconds). */
const MULTIPLIERS = [1, 2, 5] as const;

/**
 * "Nice" tick positions (ms) for the window [start, end]: the 1/2/5×10ⁿ step that gives a count closest to `target`
 * within 5–8 ticks (both ends counted when they fall on a step), never fewer than 2. Works for any window length,
 * from microseconds to hours.
 */
export function niceTicks(start: number, end: number, target = 6): number[] {
  const span = end - start;
  if (!(span > 0) || !Number.isFinite(span)) return [start];
  const ticksFor = (step: number) => {
    const ticks: number[] = [];
    // Integer multiples avoid the drift of repeated float additions (0.1 + 0.2 …).
    for (let i = Math.ceil(start / step - 1e-9); i * step <= end + step * 1e-9; i++) ticks.push(round(i * step));
    return ticks;
  };
  const exponent = Math.floor(Math.log10(span / target));
  let best: number[] = [];
  let bestScore = Number.POSITIVE_INFINITY;
  for (let e = exponent - 1; e <= exponent + 1; e++) {
    for (const m of MULTIPLIERS) {
      const ticks = ticksFor(m * 10 ** e);
      const inRange = ticks.length >= 5 && ticks.length <= 8 ? 0 : 100;
      const score = inRange + Math.abs(ticks.length - target);
      if (ticks.length >= 2 && score < bestScore) {
        best = ticks;
        bestScore = score;
      }
    }
  }
  return best.length ? best : [start, end];
}

/** Rounds away binary noise (0.30000000000000004 → 0.3) while keeping sub-microsecond values. */
const round = (ms: number) => Number(ms.toPrecision(12));
