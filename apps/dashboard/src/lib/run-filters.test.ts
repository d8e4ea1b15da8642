import type { RunChangeEvent } from '@runtrace/client';
import { describe, expect, it } from 'vitest';
import { applyRunChange, listInput, matchesFilters, type RunsPages } from './run-filters.ts';
import type { Run } from './types.ts';

const run = (id: string, createdAt: string, extra: Partial<Run> = {}): Run =>
  ({
    id,
    agentId: 'agent-a',
    status: 'running',
    stopReason: null,
    background: true,
    conversationId: null,
    createdAt,
    ...extra,
  }) as Run;

const pages = (...pageItems: [Run[], string | null][]): RunsPages => ({
  pages: pageItems.map(([items, nextCursor]) => ({ items, nextCursor })),
  pageParams: pageItems.map((_, i) => (i === 0 ? null : `c${i}`)),
});

const ids = (data: RunsPages | undefined) => data?.pages.map((p) => p.items.map((r) => r.id));
const change = (type: RunChangeEvent['type'], r: Run): RunChangeEvent => ({ type, run: r, previousStatus: null });

describe('runs list filters', () => {
  it('leave empty filters out of the input', () => {
    expect(
      listInput({ agentId: null, statuses: [], background: null, stopReason: null, conversationId: '' }, 100),
    ).toEqual({
      limit: 100,
      order: 'desc',
    });
    expect(
      listInput(
        { agentId: 'agent-a', statuses: ['failed'], background: false, stopReason: 'error', conversationId: 'c' },
        5,
      ),
    ).toEqual({
      limit: 5,
      order: 'desc',
      agentId: 'agent-a',
      statuses: ['failed'],
      background: false,
      stopReason: 'error',
      conversationId: 'c',
    });
  });

  it('match a run as the server would filter it', () => {
    const r = run('run-1', '2026-01-01T00:00:00.000001Z', {
      background: null,
      stopReason: 'end_turn',
      status: 'completed',
    });
    expect(matchesFilters(r, {})).toBe(true);
    expect(matchesFilters(r, { background: false })).toBe(true);
    expect(matchesFilters(r, { background: true })).toBe(false);
    expect(matchesFilters(r, { statuses: ['running', 'completed'] })).toBe(true);
    expect(matchesFilters(r, { statuses: ['running'] })).toBe(false);
    expect(matchesFilters(r, { stopReason: 'error' })).toBe(false);
    expect(matchesFilters(r, { agentId: 'agent-b' })).toBe(false);
    expect(matchesFilters(r, { conversationId: 'conv' })).toBe(false);
  });
});

describe('live changes applied to the loaded pages', () => {
  const a = run('run-a', '2026-01-01T00:00:03.000000Z');
  const b = run('run-b', '2026-01-01T00:00:02.000000Z');
  const c = run('run-c', '2026-01-01T00:00:01.000000Z');

  it('put a created run at the top, once', () => {
    const n = run('run-n', '2026-01-01T00:00:04.000000Z');
    const once = applyRunChange(pages([[a, b], 'c1'], [[c], null]), change('created', n), {});
    expect(ids(once)).toEqual([['run-n', 'run-a', 'run-b'], ['run-c']]);
    expect(ids(applyRunChange(once, change('created', n), {}))).toEqual(ids(once));
  });

  it('replace a changed run in place, and drop it when it no longer matches the filters', () => {
    const done = { ...b, status: 'completed' as const, stopReason: 'end_turn' as const };
    const data = pages([[a, b], 'c1'], [[c], null]);
    const updated = applyRunChange(data, change('status_changed', done), {});
    expect(updated?.pages[0]?.items[1]).toBe(done);
    expect(ids(applyRunChange(data, change('status_changed', done), { statuses: ['running'] }))).toEqual([
      ['run-a'],
      ['run-c'],
    ]);
    expect(ids(applyRunChange(data, change('deleted', b), {}))).toEqual([['run-a'], ['run-c']]);
  });

  it('insert a run that starts matching where the server lists it, within the loaded range only', () => {
    const data = pages([[a, c], 'c1']);
    expect(ids(applyRunChange(data, change('status_changed', b), {}))).toEqual([['run-a', 'run-b', 'run-c']]);
    // Older than everything loaded while more pages exist: the next page brings it, so it is not inserted twice.
    const old = run('run-old', '2025-01-01T00:00:00.000000Z');
    expect(ids(applyRunChange(data, change('status_changed', old), {}))).toEqual([['run-a', 'run-c']]);
    expect(ids(applyRunChange(pages([[a, c], null]), change('status_changed', old), {}))).toEqual([
      ['run-a', 'run-c', 'run-old'],
    ]);
  });

  it('order runs of the same timestamp by id, as the server does, and ignore runs of other filters', () => {
    const twin = run('run-b2', b.createdAt);
    expect(ids(applyRunChange(pages([[a, b, c], null]), change('created', twin), {}))).toEqual([
      ['run-a', 'run-b2', 'run-b', 'run-c'],
    ]);
    expect(ids(applyRunChange(pages([[a], null]), change('created', twin), { agentId: 'agent-z' }))).toEqual([
      ['run-a'],
    ]);
    expect(applyRunChange(undefined, change('created', twin), {})).toBeUndefined();
  });
});
