import { formatExactTime, formatOffset, isoOf, offsetMs } from '../lib/run-offset.ts';

/** When something happened in a run, as `+1.234 s` from the run's start, with the exact time on hover. */
export function Offset({ start, at }: { start: string | number; at: string | number | null | undefined }) {
  const exact = formatExactTime(at);
  return (
    <time className="offset" dateTime={isoOf(at)} title={exact} data-testid="offset" data-exact={exact}>
      {formatOffset(offsetMs(start, at))}
    </time>
  );
}
