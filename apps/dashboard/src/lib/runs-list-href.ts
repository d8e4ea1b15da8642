import { parseRoute } from './route.ts';

const KEY = 'runtrace:runs-list-href';
const DEFAULT = '#/runs';

/**
 * Remembers, for this tab (sessionStorage), the last runs list the user looked at with its filters, sort and search in
 * the hash's query, so the run page's back link returns to that list rather than to an unfiltered one. Installed when
 * this module loads (with the run page, at boot); the list's own replace-navigations dispatch `hashchange` too.
 */
export function rememberRunsList(hash: string): void {
  if (parseRoute(hash).page !== 'runs') return;
  try {
    sessionStorage.setItem(KEY, hash.startsWith('#/runs') ? hash : DEFAULT);
  } catch {
    // Storage refused (a privacy mode): the back link goes to the unfiltered list.
  }
}

/** The runs list to go back to: the last one shown in this tab, or the unfiltered list. */
export function runsListHref(): string {
  try {
    return sessionStorage.getItem(KEY) ?? DEFAULT;
  } catch {
    return DEFAULT;
  }
}

if (typeof window !== 'undefined') {
  rememberRunsList(window.location.hash);
  window.addEventListener('hashchange', () => rememberRunsList(window.location.hash));
}
