import { describe, expect, it } from 'vitest';
import { parseRoute, routeHref } from './route.ts';
import { DEFAULT_RUNS_VIEW, parseRunsView, type RunsView, runsHref, runsViewParams } from './runs-view.ts';
import { closedTo, parseTimeRange, resolveTimeRange } from './time-range.ts';

describe('the runs list in the URL', () => {
  it('round-trips every field through the hash', () => {
    const view: RunsView = {
      filters: {
        agentId: 'agent-1',
        statuses: ['failed', 'cancelled'],
        models: ['gpt-4.1', 'claude-sonnet-4'],
        stopReason: 'error',
        background: false,
        conversationId: 'conv 7&x',
      },
      range: { preset: '7d' },
      search: 'run-1a2b',
      sortBy: 'cost',
      order: 'asc',
    };
    const route = parseRoute(runsHref(view));
    expect(route.page).toBe('runs');
    expect(parseRunsView((route as { params: URLSearchParams }).params)).toEqual(view);
  });

  it('leaves defaults out, and ignores what it cannot read', () => {
    expect(runsHref(DEFAULT_RUNS_VIEW)).toBe('#/runs');
    expect(parseRunsView(new URLSearchParams('status=bogus,failed&sort=nope&order=sideways&stop=x&range=2y'))).toEqual({
      ...DEFAULT_RUNS_VIEW,
      filters: { statuses: ['failed'] },
    });
  });

  it('keeps the overview and run routes apart from the list', () => {
    expect(parseRoute('').page).toBe('overview');
    expect(parseRoute('#/overview?range=30d')).toEqual({ page: 'overview', params: new URLSearchParams('range=30d') });
    expect(parseRoute('#/runs/run-1/trace')).toEqual({ page: 'run', runId: 'run-1', tab: 'trace' });
    expect(routeHref({ page: 'runs', params: runsViewParams({ search: 'run-abcd' }) })).toBe('#/runs?q=run-abcd');
  });
});

describe('time ranges', () => {
  const now = Date.parse('2026-12-07T10:30:45.500Z');

  it('resolves a preset on whole minutes, open-ended; closedTo ends at the next minute', () => {
    const resolved = resolveTimeRange({ preset: '24h' }, now);
    expect(resolved).toEqual({ from: '2026-12-06T10:30:00.000Z', to: null });
    expect(closedTo(resolved, now)).toBe('2026-12-07T10:31:00.000Z');
    // Within the same minute, the same bounds: queries keyed on them are not refetched.
    expect(resolveTimeRange({ preset: '24h' }, now + 10_000)).toEqual(resolved);
  });

  it('reads a custom span only when it is ordered and both ends parse', () => {
    const from = '2026-12-01T00:00:00.000Z';
    const to = '2026-12-02T00:00:00.000Z';
    expect(parseTimeRange(new URLSearchParams({ from, to }))).toEqual({ from, to });
    expect(parseTimeRange(new URLSearchParams({ from: to, to: from }))).toBeNull();
    expect(parseTimeRange(new URLSearchParams({ from, to: 'yesterday' }))).toBeNull();
  });
});
