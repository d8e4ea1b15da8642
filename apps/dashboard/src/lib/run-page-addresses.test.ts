import { describe, expect, it } from 'vitest';
import { parseRoute, routeHref } from './route.ts';
import { rememberRunsList, runsListHref } from './runs-list-href.ts';

describe('run page addresses', () => {
  it('names every tab, the timeline (overview) included, and leaves the tab out only when none was chosen', () => {
    for (const tab of ['overview', 'live', 'trace'] as const) {
      const href = routeHref({ page: 'run', runId: 'run-1', tab });
      expect(href).toBe(`#/runs/run-1/${tab}`);
      expect(parseRoute(href)).toEqual({ page: 'run', runId: 'run-1', tab });
    }
    expect(parseRoute('#/runs/run-1')).toEqual({ page: 'run', runId: 'run-1', tab: null });
    expect(parseRoute('#/runs/run-1?x=1')).toEqual({ page: 'run', runId: 'run-1', tab: null });
    expect(routeHref({ page: 'run', runId: 'run-1', tab: null })).toBe('#/runs/run-1');
  });

  it('remembers the last runs list with its query for the back link, and nothing else', () => {
    const store = new Map<string, string>();
    globalThis.sessionStorage = {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => void store.set(k, v),
    } as Storage;
    expect(runsListHref()).toBe('#/runs');
    rememberRunsList('#/runs?status=completed&sort=cost');
    rememberRunsList('#/runs/run-1');
    rememberRunsList('#/health');
    expect(runsListHref()).toBe('#/runs?status=completed&sort=cost');
  });
});
