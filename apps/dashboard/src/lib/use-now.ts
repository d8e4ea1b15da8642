import { useEffect, useState } from 'react';

/**
 * The current time (epoch ms), refreshed every `intervalMs` while `ticking`: for labels that count (elapsed time, time
 * since the last event). Only the component that calls it is drawn again.
 */
export function useNow(ticking: boolean, intervalMs = 1000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    if (!ticking) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [ticking, intervalMs]);
  return now;
}
