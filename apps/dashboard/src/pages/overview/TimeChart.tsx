import { scaleLinear, scaleTime, scaleUtc } from 'd3-scale';
import { line } from 'd3-shape';
import { type KeyboardEvent, memo, useId, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { type ChartData, formatBucket, type Metric } from '../../lib/overview-series.ts';
import { BUCKET_MS } from '../../lib/overview-view.ts';

/**
 * Series colours: each at least 4.5:1 against the card's white (WCAG AA for text, 3:1 needed for graphics), so a
 * colour can also label its legend entry. "Other" is grey.
 */
export const SERIES_COLOURS = ['#3456d1', '#c2410c', '#15803d', '#7e22ce', '#0e7490', '#a16207'] as const;
const OTHER_COLOUR = '#6b7280';
/** Lines differ by dash pattern too, so no series is told apart by colour alone. */
export const SERIES_DASHES = ['', '7 3', '2 3', '9 3 2 3', '14 4', '4 2 1 2'] as const;

const HEIGHT = 210;
const MARGIN = { top: 10, right: 14, bottom: 40, left: 64 };
/** Lines with at most this many buckets show a dot on every value; more would be a smear. */
const DOTS_UP_TO = 48;

const colourOf = (data: ChartData, s: number) =>
  data.series[s]?.group.other ? OTHER_COLOUR : SERIES_COLOURS[s % SERIES_COLOURS.length]!;

/** One drawn value: a bar segment or a line's point, a link to its runs. */
interface Mark {
  s: number;
  b: number;
  value: number;
  /** Bars: the segment's box; points: the centre (w = h = 0). */
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The width of an element, kept up to date as it resizes (charts redraw for the width they have). */
function useWidth() {
  const ref = useRef<HTMLDivElement>(null);
  // Null until measured (before the first paint): the chart is drawn once, at its width, not first at a guess.
  const [width, setWidth] = useState<number | null>(null);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const observer = new ResizeObserver(([entry]) => {
      if (entry) setWidth(Math.floor(entry.contentRect.width));
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return [ref, width] as const;
}

const hourTick = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayTick = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const utcDayTick = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });

/** Hourly charts in the viewer's time zone (a tick at midnight names the day), daily ones in UTC, as the api's days. */
function formatTick(date: Date, bucket: ChartData['bucket']): string {
  if (bucket === 'day') return utcDayTick.format(date);
  return date.getHours() === 0 && date.getMinutes() === 0 ? dayTick.format(date) : hourTick.format(date);
}

/**
 * A chart of one figure over time, one series per group: stacked bars for figures that add up, lines otherwise.
 * Drawn in SVG so that every mark is a link (to the runs it counts) a keyboard reaches: the chart is one tab stop,
 * the arrow keys move between marks (← → along a series, ↑ ↓ across series, Home/End), Enter follows the link, and
 * hovering or focusing a mark shows its value. The legend names every series; a caption says what the chart shows in
 * one sentence, and a table of every value is one click away.
 */
export function TimeChart({
  data,
  metric,
  title,
  summary,
  testId,
}: {
  data: ChartData;
  metric: Metric;
  title: string;
  summary: string;
  testId: string;
}) {
  const id = useId();
  const [containerRef, measured] = useWidth();
  const width = measured ?? 0;
  const innerW = Math.max(60, width - MARGIN.left - MARGIN.right);
  const innerH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const size = BUCKET_MS[data.bucket];
  const first = data.buckets[0] ?? 0;
  const end = (data.buckets.at(-1) ?? 0) + size;

  const { x, y, marks, paths } = useMemo(() => {
    if (measured === null) return { x: scaleUtc(), y: scaleLinear(), marks: [] as Mark[], paths: [] as string[] };
    const x = (data.bucket === 'day' ? scaleUtc() : scaleTime()).domain([first, end]).range([0, innerW]);
    let max = 0;
    if (metric.kind === 'bar') {
      data.buckets.forEach((_, b) => {
        max = Math.max(
          max,
          data.series.reduce((sum, s) => sum + (s.values[b] ?? 0), 0),
        );
      });
    } else {
      for (const s of data.series) for (const v of s.values) if (v !== null) max = Math.max(max, v);
    }
    const y = scaleLinear()
      .domain([0, max > 0 ? max : 1])
      .nice(4)
      .range([innerH, 0]);
    const marks: Mark[] = [];
    const paths: string[] = [];
    if (metric.kind === 'bar') {
      const band = x(first + size) - x(first);
      const gap = band > 4 ? 1 : 0;
      data.buckets.forEach((t, b) => {
        let base = 0;
        data.series.forEach((s, si) => {
          const v = s.values[b];
          if (v === null || v === undefined || v <= 0) return;
          const top = y(base + v);
          marks.push({ s: si, b, value: v, x: x(t) + gap / 2, y: top, w: Math.max(1, band - gap), h: y(base) - top });
          base += v;
        });
      });
    } else {
      const mid = (t: number) => x(t + size / 2);
      data.series.forEach((s, si) => {
        const points = data.buckets.map((t, b) => ({ t, v: s.values[b] ?? null }));
        paths.push(
          line<{ t: number; v: number | null }>()
            .defined((p) => p.v !== null)
            .x((p) => mid(p.t))
            .y((p) => y(p.v ?? 0))(points) ?? '',
        );
        points.forEach((p, b) => {
          if (p.v !== null) marks.push({ s: si, b, value: p.v, x: mid(p.t), y: y(p.v), w: 0, h: 0 });
        });
      });
    }
    return { x, y, marks, paths };
  }, [measured, data, metric.kind, first, end, size, innerW, innerH]);

  const [active, setActive] = useState(0);
  const [tip, setTip] = useState<number | null>(null);
  const svgRef = useRef<SVGSVGElement>(null);
  const current = Math.min(active, marks.length - 1);
  const markOf = (target: EventTarget) => {
    const i = (target as Element).closest?.('[data-i]')?.getAttribute('data-i');
    return i === null || i === undefined ? null : Number(i);
  };

  const move = (event: KeyboardEvent) => {
    const from = marks[current];
    if (!from) return;
    let next = -1;
    const inSeries = marks.map((m, i) => ({ m, i })).filter(({ m }) => m.s === from.s);
    const atBucket = marks.map((m, i) => ({ m, i })).filter(({ m }) => m.b === from.b);
    if (event.key === 'ArrowRight') next = inSeries.find(({ m }) => m.b > from.b)?.i ?? -1;
    else if (event.key === 'ArrowLeft') next = inSeries.findLast(({ m }) => m.b < from.b)?.i ?? -1;
    else if (event.key === 'ArrowUp') next = atBucket.find(({ m }) => m.s > from.s)?.i ?? -1;
    else if (event.key === 'ArrowDown') next = atBucket.findLast(({ m }) => m.s < from.s)?.i ?? -1;
    else if (event.key === 'Home') next = inSeries[0]?.i ?? -1;
    else if (event.key === 'End') next = inSeries.at(-1)?.i ?? -1;
    else return;
    event.preventDefault();
    if (next < 0) return;
    setActive(next);
    setTip(next);
    svgRef.current?.querySelector<SVGElement>(`[data-i="${next}"]`)?.focus();
  };

  const tipMark = tip === null ? null : marks[tip];
  const xTicks = x.ticks(Math.max(2, Math.floor(innerW / 90)));
  const yTicks = y.ticks(4);

  return (
    <figure className="chart card" aria-labelledby={`${id}-title`} data-testid={testId}>
      <figcaption>
        <h3 id={`${id}-title`}>{title}</h3>
        <p className="chart-summary muted" data-testid="chart-summary">
          {summary}
        </p>
      </figcaption>
      <ul className="chart-legend" aria-label={`${title}: series`}>
        {data.series.map((s, si) => (
          <li key={s.group.key ?? `other-${si}`}>
            <svg width="26" height="12" aria-hidden="true">
              {metric.kind === 'bar' ? (
                <rect x="3" y="1" width="20" height="10" fill={colourOf(data, si)} />
              ) : (
                <line
                  x1="1"
                  x2="25"
                  y1="6"
                  y2="6"
                  stroke={colourOf(data, si)}
                  strokeWidth="2.5"
                  strokeDasharray={SERIES_DASHES[si % SERIES_DASHES.length]}
                />
              )}
            </svg>
            {s.group.label}
          </li>
        ))}
      </ul>
      <div className="chart-plot" ref={containerRef}>
        {measured !== null && (
          <>
            {/* biome-ignore lint/a11y/useSemanticElements: an SVG drawing has no fieldset; role group names its links */}
            <svg
              width={width}
              height={HEIGHT}
              role="group"
              aria-label={`${title}: ${marks.length} values, each a link to its runs; arrow keys move between them`}
              ref={svgRef}
              onKeyDown={move}
              // Delegated: one handler for hundreds of marks, and hovering redraws the tooltip only, not the marks.
              onMouseOver={(e) => setTip(markOf(e.target))}
              onMouseLeave={() => setTip(null)}
              onFocus={(e) => {
                const i = markOf(e.target);
                if (i === null) return;
                setActive(i);
                setTip(i);
              }}
              onBlur={() => setTip(null)}
            >
              <g transform={`translate(${MARGIN.left},${MARGIN.top})`}>
                {/* biome-ignore lint/a11y/noAriaHiddenOnFocusable: axes hold no focusable element (the caption and table say it) */}
                <g className="chart-axis" aria-hidden="true">
                  {yTicks.map((t) => (
                    <g key={t} transform={`translate(0,${y(t)})`}>
                      <line x2={innerW} className="chart-grid" />
                      <text x={-6} dy="0.32em" textAnchor="end">
                        {t === 0 ? '0' : metric.format(t)}
                      </text>
                    </g>
                  ))}
                  {xTicks.map((t) => (
                    <text key={+t} x={x(t)} y={innerH + 16} textAnchor="middle">
                      {formatTick(t, data.bucket)}
                    </text>
                  ))}
                  <line y1={innerH} y2={innerH} x2={innerW} className="chart-baseline" />
                  <text
                    className="chart-axis-title"
                    transform={`translate(${-MARGIN.left + 12},${innerH / 2}) rotate(-90)`}
                    textAnchor="middle"
                  >
                    {metric.unit}
                  </text>
                  <text className="chart-axis-title" x={innerW / 2} y={innerH + 34} textAnchor="middle">
                    {data.bucket === 'day' ? 'day (UTC)' : 'hour (your time zone)'}
                  </text>
                </g>
                {paths.map((d, si) => (
                  // biome-ignore lint/a11y/noAriaHiddenOnFocusable: a line is drawing only; its points are the links
                  <path
                    key={data.series[si]!.group.key ?? `other-${si}`}
                    d={d}
                    fill="none"
                    stroke={colourOf(data, si)}
                    strokeWidth={2}
                    strokeDasharray={SERIES_DASHES[si % SERIES_DASHES.length]}
                    aria-hidden="true"
                  />
                ))}
                <Marks marks={marks} data={data} metric={metric} focusable={current} />
              </g>
            </svg>
            {tipMark && (
              <div
                className="chart-tooltip"
                aria-hidden="true"
                style={{
                  left: Math.min(Math.max(MARGIN.left + tipMark.x + tipMark.w / 2, 90), width - 90),
                  top: MARGIN.top + tipMark.y,
                }}
              >
                <div className="muted">{formatBucket(data.buckets[tipMark.b]!, data.bucket)}</div>
                <div>
                  <span className="chart-swatch" style={{ background: colourOf(data, tipMark.s) }} />
                  {data.series[tipMark.s]!.group.label}: <strong>{metric.format(tipMark.value)}</strong>
                </div>
              </div>
            )}
          </>
        )}
      </div>
      <ValuesTable data={data} metric={metric} title={title} />
    </figure>
  );
}

/**
 * Every value of the chart in a table, behind a disclosure: the chart's text alternative for anyone who wants the
 * numbers. Rendered only once opened (five charts of up to 169 rows each would otherwise cost the first draw).
 */
function ValuesTable({ data, metric, title }: { data: ChartData; metric: Metric; title: string }) {
  const [open, setOpen] = useState(false);
  return (
    <details className="chart-table" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>Table of values</summary>
      {open && (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling panel a keyboard must be able to scroll
        <section className="chart-table-scroll" aria-label={`${title}: values`} tabIndex={0}>
          <table>
            <caption className="visually-hidden">{title}</caption>
            <thead>
              <tr>
                <th scope="col">{data.bucket === 'day' ? 'Day (UTC)' : 'Hour'}</th>
                {data.series.map((s, si) => (
                  <th key={s.group.key ?? `other-${si}`} scope="col">
                    {s.group.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {data.buckets.map((t, b) => (
                <tr key={t}>
                  <th scope="row">{formatBucket(t, data.bucket)}</th>
                  {data.series.map((s, si) => (
                    <td key={s.group.key ?? `other-${si}`}>
                      {s.values[b] === null ? '—' : metric.format(s.values[b]!)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </details>
  );
}

/**
 * The marks, each a link: memoised apart from the tooltip, so that hovering does not redraw hundreds of them. One mark
 * (`focusable`) is in the tab order; the arrow keys reach the others.
 */
const Marks = memo(function Marks({
  marks,
  data,
  metric,
  focusable,
}: {
  marks: Mark[];
  data: ChartData;
  metric: Metric;
  focusable: number;
}) {
  const dots = data.buckets.length <= DOTS_UP_TO;
  return marks.map((m, i) => {
    const series = data.series[m.s]!;
    const label = `${series.group.label}, ${formatBucket(data.buckets[m.b]!, data.bucket)}: ${metric.format(m.value)}`;
    return (
      <a
        key={`${m.s}:${m.b}`}
        data-i={i}
        href={series.hrefs[m.b]}
        className="chart-mark"
        tabIndex={i === focusable ? 0 : -1}
        aria-label={`${label}. ${series.group.other ? 'Show all runs of this time' : 'Show these runs'}.`}
        data-testid="chart-mark"
      >
        {metric.kind === 'bar' ? (
          <rect x={m.x} y={m.y} width={m.w} height={m.h} fill={colourOf(data, m.s)} />
        ) : (
          // A dot on every value when there are few; else drawn on hover and focus only. Its wide transparent stroke
          // is what the pointer hits.
          <circle
            cx={m.x}
            cy={m.y}
            r={3.5}
            fill={colourOf(data, m.s)}
            className={dots ? 'chart-dot' : 'chart-dot faint'}
          />
        )}
      </a>
    );
  });
});
