/**
 * The time ranges the overview and the runs list share, as the URL holds them: a preset relative to now
 * (`range=24h`) or a custom span (`from=…&to=…`, RFC 3339).
 */
export const RANGE_PRESETS = [
  { key: '1h', label: 'Last hour', ms: 3_600_000 },
  { key: '24h', label: 'Last 24 hours', ms: 86_400_000 },
  { key: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { key: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
] as const;

export type RangePreset = (typeof RANGE_PRESETS)[number]['key'];

export type TimeRange = { preset: RangePreset } | { from: string; to: string };

/** Resolved bounds: `from` inclusive, `to` exclusive (null: up to now and on, new runs included). */
export interface ResolvedRange {
  from: string;
  to: string | null;
}

const MINUTE_MS = 60_000;

const isIso = (value: string | null): value is string => value !== null && !Number.isNaN(Date.parse(value));

/** The range in the URL's params, or null when none (or an unreadable one) is there. */
export function parseTimeRange(params: URLSearchParams): TimeRange | null {
  const preset = RANGE_PRESETS.find((p) => p.key === params.get('range'));
  if (preset) return { preset: preset.key };
  const from = params.get('from');
  const to = params.get('to');
  if (isIso(from) && isIso(to) && Date.parse(from) < Date.parse(to)) return { from, to };
  return null;
}

/** Writes the range into `params` (replacing any there); null removes it. */
export function writeTimeRange(params: URLSearchParams, range: TimeRange | null): URLSearchParams {
  params.delete('range');
  params.delete('from');
  params.delete('to');
  if (range && 'preset' in range) params.set('range', range.preset);
  else if (range) {
    params.set('from', range.from);
    params.set('to', range.to);
  }
  return params;
}

/**
 * A preset's bounds as of `now`, on whole minutes: the same answer for a minute, so queries keyed on it are not
 * refetched on every render. A preset is open-ended (`to` null, the runs list keeps showing new runs); `closedTo`
 * gives the end an analytics query needs (exclusive: the next whole minute, so nothing recorded now is left out).
 */
export function resolveTimeRange(range: TimeRange, now = Date.now()): ResolvedRange {
  if ('from' in range) return { from: range.from, to: range.to };
  const ms = RANGE_PRESETS.find((p) => p.key === range.preset)!.ms;
  const start = Math.floor((now - ms) / MINUTE_MS) * MINUTE_MS;
  return { from: new Date(start).toISOString(), to: null };
}

/** The end of a resolved range for a query that needs one. */
export function closedTo(resolved: ResolvedRange, now = Date.now()): string {
  return resolved.to ?? new Date(Math.ceil((now + 1) / MINUTE_MS) * MINUTE_MS).toISOString();
}

/** How the range reads in a heading: "Last 24 hours", or the custom span in the viewer's time zone. */
export function describeTimeRange(range: TimeRange | null): string {
  if (!range) return 'All time';
  if ('preset' in range) return RANGE_PRESETS.find((p) => p.key === range.preset)!.label;
  const format = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  return `${format.format(new Date(range.from))} – ${format.format(new Date(range.to))}`;
}
