import { type RunTab, routeHref } from './route.ts';

/**
 * A run tab's address, always naming the tab (`#/runs/<id>/overview` too; route.ts reads any unknown segment as the
 * overview): a run page opened without one picks its tab itself (Live for an active background run), and the
 * Timeline tab must stay where the user put it.
 */
export function runTabHref(runId: string, tab: RunTab): string {
  const href = routeHref({ page: 'run', runId, tab });
  return tab === 'overview' ? `${href}/overview` : href;
}

/** Whether a run page's hash names its tab (`#/runs/<id>/<tab>`), or leaves the choice to the page. */
export function hasExplicitTab(hash: string): boolean {
  const path = hash.replace(/^#\/?/, '').split('?', 1)[0] ?? '';
  return path.split('/').filter(Boolean).length > 2;
}
