import { describe, expect, it } from 'vitest';
import { parseRoute } from './route.ts';
import { hasExplicitTab, runTabHref } from './run-tab-href.ts';
import { rememberRunsList, runsListHref } from './runs-list-href.ts';

describe('run page addresses', () => {
  it('names every tab, the timeline (overview) included, and route.ts reads them back', () => {
    for (const tab of ['overview', 'live', 'trace'] as const) {
      const href = runTabHref('run-1', tab);
      expect(hasExplicitTab(href)).toBe(true);
      expect(parseRoute(href)).toEqual({ page: 'run', runId: 'run-1', tab });
    }
    expect(runTabHref('run-1', 'overview')).toBe('#/runs/run-1/overview');
    expect(hasExplicitTab('#/runs/run-1')).toBe(false);
    expect(hasExplicitTab('#/runs/run-1?x=1')).toBe(false);
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
