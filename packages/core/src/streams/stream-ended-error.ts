import { Conflict } from '../errors.ts';

/** An append to a stream past its end: both stores refuse it with this Conflict (Redis: the script's RUNTRACE_ENDED). */
export function streamEndedError(runId: string): Conflict {
  return new Conflict(`The stream of run ${runId} has ended: no event can be appended after its end`, {
    field: 'events',
  });
}
