import { formatClock, liveActivity } from '../lib/live-activity.ts';
import { useNow } from '../lib/use-now.ts';

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'failed';

const CONNECTION_LABEL: Record<Connection, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'connection lost, reconnecting…',
  ended: 'stream ended',
  failed: 'stream failed',
};

/**
 * The stream's state and the run's elapsed time, ticking once a second on its own (the transcript is not drawn again
 * for it). A connected stream silent for longer than STALE_AFTER_MS says when its last event was instead of "live".
 */
export function LiveStatus({
  connection,
  runStart,
  lastActivityAt,
}: {
  connection: Connection;
  /** The run's creation (epoch ms): elapsed time counts from it. */
  runStart: number;
  /** The latest event, or before any the run's last change (epoch ms). */
  lastActivityAt: number;
}) {
  const ticking = connection !== 'ended' && connection !== 'failed';
  const now = useNow(ticking);
  const activity = connection === 'live' ? liveActivity(now, lastActivityAt) : null;
  const label = activity ? activity.label : CONNECTION_LABEL[connection];
  return (
    <>
      <span
        className={`live-dot ${connection}${activity?.stale ? ' stale' : ''}`}
        data-testid="live-status"
        data-connection={connection}
        data-stale={activity?.stale ? 'true' : 'false'}
        role="status"
      >
        {label}
      </span>
      {ticking && (
        <span className="muted" data-testid="live-elapsed">
          elapsed <span className="mono">{formatClock(now - runStart)}</span>
        </span>
      )}
    </>
  );
}
