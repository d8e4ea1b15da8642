import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it when missing). */
export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  // Root in a container has no user namespaces for Chromium's sandbox.
  return await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** A long task the page's PerformanceObserver saw: start (ms since navigation) and duration. */
export interface LongTask {
  start: number;
  duration: number;
}

declare global {
  interface Window {
    __longTasks: LongTask[];
  }
}

/** A fresh context (no cache, no storage) whose pages record their long tasks (> 50 ms) in `window.__longTasks`. */
export async function newContext(browser: Browser): Promise<BrowserContext> {
  // bypassCSP: the accessibility check injects axe-core into the page.
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, bypassCSP: true });
  await context.addInitScript(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries())
        window.__longTasks.push({ start: entry.startTime, duration: entry.duration });
    }).observe({ type: 'longtask', buffered: true });
  });
  return context;
}
