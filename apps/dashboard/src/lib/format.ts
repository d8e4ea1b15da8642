/** Nanoseconds (a decimal string, as the api sends them) as a short human duration: `850 µs`, `12.3 ms`, `4.56 s`. */
export function formatNs(ns: string | number | bigint | null | undefined): string {
  if (ns === null || ns === undefined || ns === '') return '—';
  return formatMs(Number(ns) / 1e6);
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** An ISO timestamp in the viewer's time zone, to the second. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
}

export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : n.toLocaleString();
}

/** Milliseconds between two ISO timestamps, or null when either is missing. */
export function elapsedMs(from: string | null | undefined, to: string | null | undefined): number | null {
  if (!from || !to) return null;
  return new Date(to).getTime() - new Date(from).getTime();
}

const RELATIVE_STEPS: [limitMs: number, unitMs: number, unit: string][] = [
  [60_000, 1000, 's'],
  [3_600_000, 60_000, 'min'],
  [86_400_000, 3_600_000, 'h'],
  [30 * 86_400_000, 86_400_000, 'd'],
];

/**
 * How long ago an ISO timestamp was, as of `now`: `just now`, `42 s ago`, `3 min ago`, `5 h ago`, `12 d ago`; older
 * than 30 days, the date itself. A time ahead of `now` (another machine's clock) reads `just now`.
 */
export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const ago = now - at;
  if (ago < 5_000) return 'just now';
  for (const [limitMs, unitMs, unit] of RELATIVE_STEPS) {
    if (ago < limitMs) return `${Math.floor(ago / unitMs)} ${unit} ago`;
  }
  return formatTime(iso);
}

/**
 * A cost in USD (the api's exact decimal string) for display: cents for a dollar or more, four significant digits
 * below (a step often costs a fraction of a cent), `< $0.000001` for a dust amount, `—` when nothing was priced.
 */
export function formatUsd(usd: string | number | null | undefined): string {
  if (usd === null || usd === undefined || usd === '') return '—';
  const n = Number(usd);
  if (!Number.isFinite(n)) return '—';
  if (n === 0) return '$0.00';
  if (n >= 1) return `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  if (n < 0.000001) return '< $0.000001';
  return `$${n.toLocaleString('en-US', { maximumSignificantDigits: 4, maximumFractionDigits: 6 })}`;
}

/** An id cut to its prefix and 8 characters (`run-1a2b3c4d`), enough to tell runs apart on a screen. */
export function shortId(id: string): string {
  const dash = id.indexOf('-');
  return dash < 0 || id.length <= dash + 9 ? id : `${id.slice(0, dash + 9)}…`;
}
