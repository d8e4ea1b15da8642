import { useId, useState } from 'react';
import { RANGE_PRESETS, type TimeRange } from '../lib/time-range.ts';

/** `datetime-local` speaks local time without a zone; the URL holds UTC. */
const toLocalInput = (iso: string) => {
  const date = new Date(iso);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};
const fromLocalInput = (value: string) => new Date(value).toISOString();

/**
 * A preset (last hour … last 30 days) or a custom span. `allowAll` adds "All time" (null), for lists; charts need
 * bounds.
 */
export function TimeRangePicker({
  value,
  onChange,
  allowAll = false,
}: {
  value: TimeRange | null;
  onChange(range: TimeRange | null): void;
  allowAll?: boolean;
}) {
  const id = useId();
  const selected = value === null ? 'all' : 'preset' in value ? value.preset : 'custom';
  const [custom, setCustom] = useState(selected === 'custom');
  const now = Date.now();
  const [from, setFrom] = useState(() =>
    toLocalInput(value && 'from' in value ? value.from : new Date(now - 86_400_000).toISOString()),
  );
  const [to, setTo] = useState(() => toLocalInput(value && 'to' in value ? value.to : new Date(now).toISOString()));
  const customValid = from !== '' && to !== '' && Date.parse(from) < Date.parse(to);
  return (
    <div className="time-range" data-testid="time-range">
      <label htmlFor={`${id}-range`}>Time range</label>
      <select
        id={`${id}-range`}
        name="range"
        value={custom ? 'custom' : selected}
        onChange={(e) => {
          const next = e.target.value;
          if (next === 'custom') {
            setCustom(true);
            return;
          }
          setCustom(false);
          onChange(next === 'all' ? null : { preset: next as (typeof RANGE_PRESETS)[number]['key'] });
        }}
      >
        {allowAll && <option value="all">All time</option>}
        {RANGE_PRESETS.map((preset) => (
          <option key={preset.key} value={preset.key}>
            {preset.label}
          </option>
        ))}
        <option value="custom">Custom…</option>
      </select>
      {custom && (
        <form
          className="time-range-custom"
          onSubmit={(e) => {
            e.preventDefault();
            if (customValid) onChange({ from: fromLocalInput(from), to: fromLocalInput(to) });
          }}
        >
          <label>
            From
            <input type="datetime-local" name="from" value={from} onChange={(e) => setFrom(e.target.value)} />
          </label>
          <label>
            To
            <input type="datetime-local" name="to" value={to} onChange={(e) => setTo(e.target.value)} />
          </label>
          <button type="submit" disabled={!customValid}>
            Apply
          </button>
          {!customValid && <span className="error-text">“From” must be before “To”.</span>}
        </form>
      )}
    </div>
  );
}
