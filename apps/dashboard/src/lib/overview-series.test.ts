import { describe, expect, it } from 'vitest';
import {
  chartSeries,
  describeChart,
  formatPercent,
  formatUsd,
  groupFigures,
  groupLabel,
  hasData,
  MAX_CHART_GROUPS,
  METRICS,
  type MetricKey,
  rankGroups,
  shortAgentId,
  type TimeseriesPoint,
} from './overview-series.ts';
import { parseRoute } from './route.ts';
import { parseRunsView } from './runs-view.ts';

const H = 3_600_000;
const T0 = Date.parse('2026-11-01T00:00:00Z');
const buckets = [T0, T0 + H, T0 + 2 * H];
const metric = (key: MetricKey) => METRICS.find((m) => m.key === key)!;

function point(bucket: number, group: string | null, o: Partial<TimeseriesPoint> = {}): TimeseriesPoint {
  const ms = (p50: number) => ({ p50, p95: p50 * 2, p99: p50 * 3 });
  return {
    bucket: new Date(bucket).toISOString().replace('.000Z', 'Z'),
    group,
    runs: 10,
    failedRuns: 1,
    errorRate: 0.1,
    steps: 20,
    stepErrors: 1,
    tokens: { input: 0, cachedInput: 0, cacheWrite: 0, output: 0, reasoning: 0, total: 100 },
    costUsd: '1.5',
    unpricedTokens: 0,
    runDurationMs: ms(1000),
    ttftMs: ms(300),
    llmMs: 0,
    ...o,
  };
}

const layout = (points: TimeseriesPoint[], group: 'agent' | 'model' = 'model', names = new Map<string, string>()) =>
  groupFigures(points, { buckets, bucket: 'hour', group, agentNames: names });

describe('timeseries points as chart series', () => {
  it('lays each group out on every bucket of the range, empty buckets as gaps', () => {
    const points = [point(T0, 'gpt-4.1'), point(T0 + 2 * H, 'gpt-4.1', { costUsd: '0.25', runs: 4, failedRuns: 2 })];
    const figures = layout(points);
    const cost = chartSeries(figures, metric('cost'), 'p95');
    expect(cost.series).toHaveLength(1);
    expect(cost.series[0]!.values).toEqual([1.5, null, 0.25]);
    expect(chartSeries(figures, metric('runs'), 'p95').series[0]!.values).toEqual([10, null, 4]);
    expect(chartSeries(figures, metric('errorRate'), 'p95').series[0]!.values).toEqual([0.1, null, 0.5]);
    expect(chartSeries(figures, metric('runDuration'), 'p95').series[0]!.values).toEqual([2000, null, 2000]);
    expect(chartSeries(figures, metric('ttft'), 'p50').series[0]!.values).toEqual([300, null, 300]);
    expect(hasData(cost)).toBe(true);
    expect(hasData(chartSeries(layout([]), metric('cost'), 'p95'))).toBe(false);
  });

  it('ignores points outside the buckets, and a group without percentiles draws no latency line', () => {
    const points = [point(T0 - H, 'a'), point(T0, 'b', { runDurationMs: null, ttftMs: null })];
    const figures = layout(points);
    // Group a's only point is before the first bucket: nothing of it is drawn.
    expect(chartSeries(figures, metric('runs'), 'p95').series.map((s) => [s.group.key, s.values])).toEqual([
      ['b', [10, null, null]],
    ]);
    expect(chartSeries(figures, metric('ttft'), 'p95').series).toEqual([]);
  });

  it('ranks groups by runs, then cost, and sums all but the first five into Other', () => {
    const keys = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7'];
    const points = keys.map((k, i) => point(T0, k, { runs: 100 - i, failedRuns: i, costUsd: String(i) }));
    expect(rankGroups(points).shown).toEqual(keys.slice(0, MAX_CHART_GROUPS));
    expect([...rankGroups(points).others]).toEqual(['m6', 'm7']);
    // Six groups: all drawn (an "Other" of one would hide a name for nothing).
    expect(rankGroups(points.slice(0, 6)).shown).toHaveLength(6);
    expect(
      rankGroups([point(T0, 'x', { runs: 5, costUsd: '1' }), point(T0, 'y', { runs: 5, costUsd: '2' })]).shown,
    ).toEqual(['y', 'x']);

    const figures = layout(points);
    const runs = chartSeries(figures, metric('runs'), 'p95');
    const other = runs.series.at(-1)!;
    expect(other.group).toEqual({ key: null, label: 'Other (2 models)', filters: null, other: true });
    expect(other.values[0]).toBe(95 + 94);
    expect(chartSeries(figures, metric('cost'), 'p95').series.at(-1)!.values[0]).toBe(11);
    expect(chartSeries(figures, metric('errorRate'), 'p95').series.at(-1)!.values[0]).toBeCloseTo((5 + 6) / (95 + 94));
    // Percentiles of merged groups are unknown: no Other line.
    expect(chartSeries(figures, metric('runDuration'), 'p95').series.map((s) => s.group.key)).toEqual(
      keys.slice(0, MAX_CHART_GROUPS),
    );
  });

  it("links each mark to the runs list: the group's runs in that bucket, plus what the figure is about", () => {
    const figures = layout([point(T0 + H, 'agent-0123456789abcdef')], 'agent');
    const view = (key: MetricKey, b = 1) =>
      parseRunsView(
        (parseRoute(chartSeries(figures, metric(key), 'p95').series[0]!.hrefs[b]!) as { params: URLSearchParams })
          .params,
      );
    const range = { from: new Date(T0 + H).toISOString(), to: new Date(T0 + 2 * H).toISOString() };
    expect(view('runs')).toMatchObject({ filters: { agentId: 'agent-0123456789abcdef' }, range, sortBy: 'created' });
    expect(view('cost')).toMatchObject({ filters: { agentId: 'agent-0123456789abcdef' }, range, sortBy: 'cost' });
    expect(view('errorRate').filters).toEqual({ agentId: 'agent-0123456789abcdef', statuses: ['failed'] });
    expect(view('runDuration').sortBy).toBe('duration');

    const byModel = layout([point(T0, 'claude-sonnet-4')]);
    const href = chartSeries(byModel, metric('runs'), 'p95').series[0]!.hrefs[0]!;
    expect(parseRunsView((parseRoute(href) as { params: URLSearchParams }).params).filters).toEqual({
      models: ['claude-sonnet-4'],
    });
  });
});

describe('labels and text alternatives', () => {
  it('names agents by their name, else a short id; rows without a value say so', () => {
    const names = new Map([['agent-aaaaaaaa-1111', 'support-bot']]);
    expect(groupLabel('agent', 'agent-aaaaaaaa-1111', names)).toBe('support-bot');
    expect(groupLabel('agent', 'agent-c0fb9d67-9e9a-408a-8b12-9512d7c6727b', names)).toBe('agent-c0fb9d67');
    expect(shortAgentId('my-own-agent-id')).toBe('my-own-agent-id');
    expect(groupLabel('model', 'gpt-4.1', names)).toBe('gpt-4.1');
    expect(groupLabel('model', null, names)).toBe('(no model)');
    const figures = layout([point(T0, 'agent-aaaaaaaa-1111')], 'agent', names);
    expect(figures.groups[0]!.group.label).toBe('support-bot');
  });

  it('formats money and rates for axes and tooltips', () => {
    expect(formatUsd(0)).toBe('$0');
    expect(formatUsd(0.0042)).toBe('$0.0042');
    expect(formatUsd(0.5)).toBe('$0.5');
    expect(formatUsd(1234.5)).toMatch(/^\$1.?234\.5$/);
    expect(formatPercent(0.125)).toBe('13 %');
    expect(formatPercent(0.05)).toBe('5 %');
    expect(formatPercent(0.013)).toBe('1.3 %');
    expect(formatPercent(0)).toBe('0 %');
  });

  it('describes a chart in one sentence: span, total of what adds up, and the highest value', () => {
    const points = [point(T0, 'a', { costUsd: '2' }), point(T0 + H, 'b', { costUsd: '5' })];
    const cost = chartSeries(layout(points), metric('cost'), 'p95');
    const text = describeChart(cost, metric('cost'), 'model', 'p95');
    expect(text).toMatch(/^Cost by model over 3 hours, .+ to .+; total \$7; highest \$5 \(b, .+\)\.$/);
    const ttft = chartSeries(layout(points), metric('ttft'), 'p50');
    expect(describeChart(ttft, metric('ttft'), 'model', 'p50')).toMatch(
      /^p50 time to first token by model .*highest 300 ms \(b, /,
    );
    expect(describeChart(chartSeries(layout([]), metric('runs'), 'p95'), metric('runs'), 'agent', 'p95')).toMatch(
      /no data\.$/,
    );
  });
});
