import type { RunChangeEvent } from '@runtrace/client';
import { describe, expect, it } from 'vitest';
import {
  applyRunChange,
  isFiltered,
  listInput,
  matchesQuery,
  type RunsPages,
  type RunsQuery,
  resolveRange,
  runsQuery,
  usableSearch,
} from './run-filters.ts';
import { DEFAULT_RUNS_VIEW, parseRunsView } from './runs-view.ts';
import type { Run } from './types.ts';

const run = (id: string, createdAt: string, extra: Partial<Run> = {}): Run =>
  ({
    id,
    agentId: 'agent-a',
    status: 'running',
    stopReason: null,
    background: true,
    conversationId: null,
    model: 'gpt-4.1',
    createdAt,
    ...extra,
  }) as Run;

const pages = (...pageItems: [Run[], string | null][]): RunsPages => ({
  pages: pageItems.map(([items, nextCursor]) => ({ items, nextCursor })),
  pageParams: pageItems.map((_, i) => (i === 0 ? null : `c${i}`)),
});

const q = (extra: Partial<RunsQuery> = {}): RunsQuery => ({
  filters: {},
  range: null,
  search: null,
  sortBy: 'created',
  order: 'desc',
  ...extra,
});

const ids = (data: RunsPages | undefined) => data?.pages.map((p) => p.items.map((r) => r.id));
const change = (type: RunChangeEvent['type'], r: Run): RunChangeEvent => ({ type, run: r, previousStatus: null });

describe('the runs view as runs.list input', () => {
  it('leaves empty filters and the default sort out of the input', () => {
    const empty = q({
      filters: { agentId: null, statuses: [], background: null, stopReason: null, conversationId: '', models: [] },
    });
    expect(listInput(empty, 100)).toEqual({ limit: 100, order: 'desc' });
  });

  it('maps every filter, the range, the search and the sort', () => {
    const query = q({
      filters: {
        agentId: 'agent-a',
        statuses: ['failed'],
        background: false,
        stopReason: 'error',
        conversationId: 'c',
        models: ['gpt-4.1'],
      },
      range: { from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z' },
      search: 'run-1a2b',
      sortBy: 'cost',
      order: 'asc',
    });
    expect(listInput(query, 5)).toEqual({
      limit: 5,
      order: 'asc',
      sortBy: 'cost',
      agentId: 'agent-a',
      statuses: ['failed'],
      background: false,
      stopReason: 'error',
      conversationId: 'c',
      models: ['gpt-4.1'],
      createdFrom: '2026-01-01T00:00:00.000Z',
      createdTo: '2026-01-02T00:00:00.000Z',
      search: 'run-1a2b',
    });
    // A preset is open-ended: no createdTo, so runs created from now on still belong to it.
    const open = listInput(q({ range: { from: '2026-01-01T00:00:00.000Z', to: null } }), 5);
    expect(open).toEqual({ limit: 5, order: 'desc', createdFrom: '2026-01-01T00:00:00.000Z' });
  });

  it('sends a search only in the shape the server takes, lower-cased', () => {
    expect(usableSearch('RUN-1A2B')).toBe('run-1a2b');
    expect(usableSearch('  run-1a2b3c ')).toBe('run-1a2b3c');
    expect(usableSearch('run-1a2')).toBeNull();
    expect(usableSearch('step-1a2b3c')).toBeNull();
    expect(usableSearch(`run-${'0'.repeat(37)}`)).toBeNull();
    expect(usableSearch(null)).toBeNull();
    const view = parseRunsView(new URLSearchParams('q=run-1a&sort=duration'));
    expect(listInput(runsQuery(view), 10)).toEqual({ limit: 10, order: 'desc', sortBy: 'duration' });
  });

  it('resolves a preset once for a minute, so the prefetch and the page ask the same', () => {
    const now = Date.parse('2026-03-01T12:00:59.900Z');
    const first = resolveRange({ preset: '1h' }, now);
    expect(first).toEqual({ from: '2026-03-01T11:00:00.000Z', to: null });
    // 200 ms later the clock has crossed a minute; the bounds are still the prefetch's.
    expect(resolveRange({ preset: '1h' }, now + 200)).toBe(first);
    expect(resolveRange({ preset: '1h' }, now + 61_000)).toEqual({ from: '2026-03-01T11:02:00.000Z', to: null });
    expect(resolveRange({ preset: '24h' }, now)).toEqual({ from: '2026-02-28T12:00:00.000Z', to: null });
    expect(resolveRange(null, now)).toBeNull();
  });

  it('knows when anything narrows the list', () => {
    expect(isFiltered(DEFAULT_RUNS_VIEW)).toBe(false);
    expect(isFiltered({ ...DEFAULT_RUNS_VIEW, filters: { statuses: [] } })).toBe(false);
    expect(isFiltered({ ...DEFAULT_RUNS_VIEW, filters: { background: false } })).toBe(true);
    expect(isFiltered({ ...DEFAULT_RUNS_VIEW, range: { preset: '7d' } })).toBe(true);
    expect(isFiltered({ ...DEFAULT_RUNS_VIEW, search: 'run-' })).toBe(true);
  });
});

describe('a run matched as the server would list it', () => {
  it('by the filters', () => {
    const r = run('run-1', '2026-01-01T00:00:00.000001Z', {
      background: null,
      stopReason: 'end_turn',
      status: 'completed',
    });
    const m = (filters: RunsQuery['filters']) => matchesQuery(r, q({ filters }));
    expect(m({})).toBe(true);
    expect(m({ background: false })).toBe(true);
    expect(m({ background: true })).toBe(false);
    expect(m({ statuses: ['running', 'completed'] })).toBe(true);
    expect(m({ statuses: ['running'] })).toBe(false);
    expect(m({ stopReason: 'error' })).toBe(false);
    expect(m({ agentId: 'agent-b' })).toBe(false);
    expect(m({ conversationId: 'conv' })).toBe(false);
    expect(m({ models: ['o3', 'gpt-4.1'] })).toBe(true);
    expect(m({ models: ['o3'] })).toBe(false);
    expect(matchesQuery({ ...r, model: null }, q({ filters: { models: ['gpt-4.1'] } }))).toBe(false);
  });

  it('by the range (from inclusive, to exclusive, open-ended presets) and the search prefix', () => {
    const r = run('run-1a2b3c4d', '2026-01-01T00:00:00.000500Z');
    const inRange = (from: string, to: string | null) => matchesQuery(r, q({ range: { from, to } }));
    expect(inRange('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.001Z')).toBe(true);
    expect(inRange('2026-01-01T00:00:00.001Z', null)).toBe(false);
    expect(inRange('2025-12-31T00:00:00.000Z', '2026-01-01T00:00:00.000Z')).toBe(false);
    expect(inRange('2025-12-31T00:00:00.000Z', null)).toBe(true);
    // An offset in a custom range's bound is a time like any other.
    expect(inRange('2026-01-01T01:00:00+01:00', '2026-01-01T02:00:00+01:00')).toBe(true);
    expect(matchesQuery(r, q({ search: 'run-1a2b' }))).toBe(true);
    expect(matchesQuery({ ...r, id: 'run-1A2B3C4D' }, q({ search: 'run-1a2b' }))).toBe(true);
    expect(matchesQuery(r, q({ search: 'run-1a2c' }))).toBe(false);
  });
});

describe('live changes applied to the loaded pages', () => {
  const a = run('run-a', '2026-01-01T00:00:03.000000Z');
  const b = run('run-b', '2026-01-01T00:00:02.000000Z');
  const c = run('run-c', '2026-01-01T00:00:01.000000Z');

  it('put a created run at the top, once', () => {
    const n = run('run-n', '2026-01-01T00:00:04.000000Z');
    const once = applyRunChange(pages([[a, b], 'c1'], [[c], null]), change('created', n), q());
    expect(ids(once)).toEqual([['run-n', 'run-a', 'run-b'], ['run-c']]);
    expect(ids(applyRunChange(once, change('created', n), q()))).toEqual(ids(once));
  });

  it('replace a changed run in place, and drop it when it no longer matches the filters', () => {
    const done = { ...b, status: 'completed' as const, stopReason: 'end_turn' as const };
    const data = pages([[a, b], 'c1'], [[c], null]);
    const updated = applyRunChange(data, change('status_changed', done), q());
    expect(updated?.pages[0]?.items[1]).toBe(done);
    expect(
      ids(applyRunChange(data, change('status_changed', done), q({ filters: { statuses: ['running'] } }))),
    ).toEqual([['run-a'], ['run-c']]);
    expect(ids(applyRunChange(data, change('deleted', b), q()))).toEqual([['run-a'], ['run-c']]);
  });

  it('insert a run that starts matching where the server lists it, within the loaded range only', () => {
    const data = pages([[a, c], 'c1']);
    expect(ids(applyRunChange(data, change('status_changed', b), q()))).toEqual([['run-a', 'run-b', 'run-c']]);
    // Older than everything loaded while more pages exist: the next page brings it, so it is not inserted twice.
    const old = run('run-old', '2025-01-01T00:00:00.000000Z');
    expect(ids(applyRunChange(data, change('status_changed', old), q()))).toEqual([['run-a', 'run-c']]);
    expect(ids(applyRunChange(pages([[a, c], null]), change('status_changed', old), q()))).toEqual([
      ['run-a', 'run-c', 'run-old'],
    ]);
  });

  it('insert oldest first when the list is ascending: a new run goes last, once everything is loaded', () => {
    const n = run('run-n', '2026-01-01T00:00:04.000000Z');
    const asc = q({ order: 'asc' });
    expect(ids(applyRunChange(pages([[c, b], 'c1']), change('created', n), asc))).toEqual([['run-c', 'run-b']]);
    expect(ids(applyRunChange(pages([[c, a], null]), change('created', b), asc))).toEqual([
      ['run-c', 'run-b', 'run-a'],
    ]);
    expect(ids(applyRunChange(pages([[c, a], null]), change('created', n), asc))).toEqual([
      ['run-c', 'run-a', 'run-n'],
    ]);
  });

  it('under a sort by cost, duration or tokens, update rows in place but insert none (the server knows where)', () => {
    const n = run('run-n', '2026-01-01T00:00:04.000000Z');
    for (const sortBy of ['cost', 'duration', 'tokens'] as const) {
      const query = q({ sortBy });
      const data = pages([[a, b], null]);
      expect(ids(applyRunChange(data, change('created', n), query))).toEqual([['run-a', 'run-b']]);
      const costly = { ...b, costUsd: '1.5', status: 'completed' as const };
      expect(applyRunChange(data, change('status_changed', costly), query)?.pages[0]?.items[1]).toBe(costly);
      expect(ids(applyRunChange(data, change('deleted', a), query))).toEqual([['run-b']]);
    }
  });

  it('check new runs against the models, the range and the search', () => {
    const data = pages([[a, c], null]);
    const other = run('run-b', b.createdAt, { model: 'o3' });
    expect(ids(applyRunChange(data, change('created', other), q({ filters: { models: ['gpt-4.1'] } })))).toEqual([
      ['run-a', 'run-c'],
    ]);
    expect(ids(applyRunChange(data, change('created', b), q({ filters: { models: ['gpt-4.1'] } })))).toEqual([
      ['run-a', 'run-b', 'run-c'],
    ]);
    const custom = q({ range: { from: '2026-01-01T00:00:00.000Z', to: '2026-01-01T00:00:02.000Z' } });
    expect(ids(applyRunChange(data, change('created', b), custom))).toEqual([['run-a', 'run-c']]);
    expect(ids(applyRunChange(data, change('created', b), q({ search: 'run-bbbb' })))).toEqual([['run-a', 'run-c']]);
    const found = run('run-bbbb-1', b.createdAt);
    expect(ids(applyRunChange(data, change('created', found), q({ search: 'run-bbbb' })))).toEqual([
      ['run-a', 'run-bbbb-1', 'run-c'],
    ]);
  });

  it('order runs of the same timestamp by id, as the server does, and ignore runs of other filters', () => {
    const twin = run('run-b2', b.createdAt);
    expect(ids(applyRunChange(pages([[a, b, c], null]), change('created', twin), q()))).toEqual([
      ['run-a', 'run-b2', 'run-b', 'run-c'],
    ]);
    expect(
      ids(applyRunChange(pages([[a], null]), change('created', twin), q({ filters: { agentId: 'agent-z' } }))),
    ).toEqual([['run-a']]);
    expect(applyRunChange(undefined, change('created', twin), q())).toBeUndefined();
  });
});
