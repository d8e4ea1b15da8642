/** What the timeline needs of a step: its id and when the api recorded it (steps list in that order). */
export interface TimelineStep {
  id: string;
  createdAt: string;
}

/** What the timeline needs of a message: its step (if any), its position in the run and its time. */
export interface TimelineMessage {
  stepId?: string | null | undefined;
  seqId: number;
  date: string;
}

/** One group of the timeline: a step (numbered from 1, oldest first) with its messages, or messages of no step. */
export type TimelineEntry<S, M> =
  | { kind: 'step'; step: S; number: number; messages: M[] }
  | { kind: 'loose'; messages: M[] };

export interface RunTimeline<S, M> {
  entries: TimelineEntry<S, M>[];
  /** Messages loaded but not shown yet: they belong to (or fall after) steps not loaded yet. */
  held: number;
}

/**
 * A run as a timeline of numbered steps, oldest first, each with its messages in run order. A message of no step (or
 * of a step that is not in the run) goes where the run put it: before the first step whose first message comes after
 * it by position, or, for a step without messages, whose recording time comes after the message's time.
 *
 * Steps and messages are loaded page by page; while `allSteps` is false, messages of steps not loaded yet, and
 * messages of no step that would fall after the last loaded step, are held back (counted in `held`) instead of being
 * drawn in a place they would leave once more steps arrive.
 */
export function runTimeline<S extends TimelineStep, M extends TimelineMessage>(
  steps: readonly S[],
  messages: readonly M[],
  { allSteps }: { allSteps: boolean },
): RunTimeline<S, M> {
  const ordered = steps
    .map((step, i) => ({ step, i, at: Date.parse(step.createdAt) }))
    // Stable: the api's order (created_at, id) wins on ties and on unparseable times.
    .sort((a, b) => a.at - b.at || a.i - b.i || 0)
    .map((s) => s.step);
  const byStep = new Map<string, M[]>(ordered.map((s) => [s.id, []]));
  const loose: M[] = [];
  let held = 0;
  for (const m of [...messages].sort((a, b) => a.seqId - b.seqId)) {
    const own = m.stepId == null ? undefined : byStep.get(m.stepId);
    if (own) own.push(m);
    else if (m.stepId != null && !allSteps) held += 1;
    else loose.push(m);
  }
  const anchors = ordered.map((s) => ({ firstSeq: byStep.get(s.id)?.[0]?.seqId ?? null, at: Date.parse(s.createdAt) }));
  const before: M[][] = ordered.map(() => []);
  const after: M[] = [];
  for (const m of loose) {
    const at = Date.parse(m.date);
    const k = anchors.findIndex((a) => (a.firstSeq !== null ? a.firstSeq > m.seqId : a.at > at));
    if (k >= 0) before[k]?.push(m);
    else if (allSteps || ordered.length === 0) after.push(m);
    else held += 1;
  }
  const entries: TimelineEntry<S, M>[] = [];
  ordered.forEach((step, k) => {
    const preceding = before[k] ?? [];
    if (preceding.length) entries.push({ kind: 'loose', messages: preceding });
    entries.push({ kind: 'step', step, number: k + 1, messages: byStep.get(step.id) ?? [] });
  });
  if (after.length) entries.push({ kind: 'loose', messages: after });
  return { entries, held };
}

/** What {@link firstTokenStepId} reads of a step. */
export interface StepOutcome {
  id: string;
  status: string;
  errorType: string | null;
}

/**
 * The step the run's time to first token belongs to. Letta measures TTFT once per run, from the request's start to the
 * first token of its first successful LLM call: the first step that neither failed nor carries an error.
 */
export function firstTokenStepId(steps: readonly StepOutcome[]): string | null {
  return steps.find((s) => s.status !== 'failed' && !s.errorType)?.id ?? null;
}
