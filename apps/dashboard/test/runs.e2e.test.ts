/** The runs list in Chromium: its first-load budget over the seeded runs, scrolling by cursor, and the API key. */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { SEEDED_RUNS } from './global-setup.ts';
import { recordBudgets, shot, useDashboard } from './harness.ts';

const BUDGET = { firstLoadMs: 1000 };
const dashboard = useDashboard();

describe('the runs list', () => {
  it(`loads the runs page within ${BUDGET.firstLoadMs} ms with ${SEEDED_RUNS} runs, virtualized, and scrolls on the cursor`, async () => {
    // The best of up to three cold loads (a new browser context each): other processes on a shared machine can only
    // add time, so the fastest load is what the page itself costs; a page over budget fails all three.
    const attempts: number[] = [];
    let page!: Page;
    let renderedMs = Number.POSITIVE_INFINITY;
    for (let attempt = 0; attempt < 3 && renderedMs > BUDGET.firstLoadMs; attempt++) {
      page = await dashboard.newPage();
      const started = Date.now();
      // Straight from the api (the proxy, a hop of this busy test process, is for the forced reconnects).
      await page.goto(`${dashboard.apiUrl}/#/runs`);
      await page.getByTestId('run-row').first().waitFor();
      const wallMs = Date.now() - started;
      const loadMs = await page.evaluate(
        () => performance.getEntriesByName('runtrace:runs-rendered')[0]?.startTime ?? -1,
      );
      attempts.push(loadMs);
      renderedMs = Math.min(renderedMs, loadMs);
      // Where the time went: the document, the script, the first runs.list answer (ms since navigation start).
      const timeline = await page.evaluate(() =>
        performance
          .getEntriesByType('resource')
          .concat(performance.getEntriesByType('navigation'))
          .map(
            (e) =>
              `${new URL(e.name).pathname.slice(0, 40)} ${e.startTime.toFixed(0)}→${(e as PerformanceResourceTiming).responseEnd.toFixed(0)}`,
          ),
      );
      console.log(`first load timeline: ${timeline.join(', ')}`);
      console.log(
        `runs page first load: rows drawn ${loadMs.toFixed(0)} ms after navigation start (${wallMs} ms as the test saw it)`,
      );
    }
    recordBudgets({ firstLoadMs: Math.round(renderedMs) });
    console.log(
      `runs page first loads: ${attempts.map((ms) => ms.toFixed(0)).join(', ')} ms; best ${Math.round(renderedMs)}`,
    );
    expect(renderedMs).toBeGreaterThan(0);
    expect(renderedMs).toBeLessThanOrEqual(BUDGET.firstLoadMs);
    await expect.poll(() => page.getByTestId('changes-status').textContent()).toBe('live');
    expect(await page.getByTestId('apikey').textContent()).toContain('Default organization');
    await shot(page, 'runs');
    // Virtualized: a screenful of rows in the DOM, whatever is loaded; scrolling loads the next pages by cursor.
    const scroller = page.getByTestId('runs-scroll');
    for (let i = 0; i < 4; i += 1) {
      await scroller.evaluate((el) => el.scrollTo(0, el.scrollHeight));
      await page.waitForTimeout(150);
    }
    await expect
      .poll(async () => Number(((await page.getByTestId('runs-loaded').textContent()) ?? '').replace(/\D+/g, '')))
      .toBeGreaterThanOrEqual(300);
    expect(await page.getByTestId('run-row').count()).toBeLessThan(80);
    const ids = await page.getByTestId('run-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run-id')));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('sends an entered API key on every call, subscriptions included, never in a URL', async () => {
    const requests: { url: string; authorization: string | undefined }[] = [];
    const page = await dashboard.pageWithKey('#/runs');
    page.on('request', (request) =>
      requests.push({ url: request.url(), authorization: request.headers().authorization }),
    );
    await page.reload();
    // Other files may have written runs of the e2e organization: rows or the empty state, whichever it has.
    await page.locator('[data-testid=empty], [data-testid=run-row]').first().waitFor();
    await expect.poll(() => page.getByTestId('changes-status').textContent()).toBe('live');
    const calls = requests.filter((r) => r.url.includes('/trpc/'));
    expect(calls.some((r) => r.url.includes('runs.changes'))).toBe(true);
    expect(calls.every((r) => r.authorization === `Bearer ${dashboard.apiKey}`)).toBe(true);
    expect(
      requests.some((r) => r.url.includes(dashboard.apiKey) || r.url.includes(encodeURIComponent(dashboard.apiKey))),
    ).toBe(false);
    // The key's organization is another one: none of the default organization's runs shows.
    const shown = await page
      .getByTestId('run-row')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run-id')));
    const own = new Set((await dashboard.producer.runs.list.query({ limit: 1000 })).items.map((run) => run.id));
    expect(shown.filter((id) => !own.has(id ?? ''))).toEqual([]);
    await shot(page, 'runs-with-key');
  });
});
