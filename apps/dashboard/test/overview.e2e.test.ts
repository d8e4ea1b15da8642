/**
 * The overview in Chromium over the seeded runs of the default organization (30 days, 1–3 priced steps each, see
 * fixtures.ts): charts drawn within budget, the view in the URL, every mark and top-list entry a link to the runs
 * list, an empty state apart from errors and loading, and the page at desktop and phone width.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { SEEDED_AGENT_NAMES, SEEDED_MODELS } from './fixtures.ts';
import { SEEDED_RUNS } from './global-setup.ts';
import { checkAtWidths, recordBudgets, useDashboard } from './harness.ts';

const BUDGET = { overviewDrawnMs: 1500 };
const CHARTS = ['chart-cost', 'chart-runs', 'chart-errorRate', 'chart-runDuration', 'chart-ttft'];
const dashboard = useDashboard();

/** The overview drawn for this bucket and grouping (not a previous answer still shown while the next one loads). */
const drawn = (page: Page, bucket: 'hour' | 'day', group: 'agent' | 'model') =>
  page
    .locator(`[data-testid=overview][data-bucket=${bucket}][data-group=${group}]:not([aria-busy=true])`)
    .getByTestId('chart-cost')
    .getByTestId('chart-mark')
    .first()
    .waitFor();

const legend = (page: Page, chart: string) => page.getByTestId(chart).locator('.chart-legend li').allTextContents();

/** The hash's page and params, as the runs list will read them. */
const hashOf = (page: Page) => {
  const [path = '', query = ''] = new URL(page.url()).hash.slice(1).split('?');
  return { path, params: new URLSearchParams(query) };
};

describe('the overview', () => {
  it(`draws the seeded runs' charts within ${BUDGET.overviewDrawnMs} ms, with totals, legends and top lists`, async () => {
    // The best of up to three cold loads, as the runs page's budget: other processes on the 2 shared cores can only
    // add time. Straight from the api (the proxy is a hop through this test process).
    const attempts: number[] = [];
    let page!: Page;
    let best = Number.POSITIVE_INFINITY;
    for (let attempt = 0; attempt < 3 && best > BUDGET.overviewDrawnMs; attempt++) {
      page = await dashboard.newPage();
      await page.goto(`${dashboard.apiUrl}/#/overview?range=30d`);
      await drawn(page, 'day', 'agent');
      const ms = await page.evaluate(
        () => performance.getEntriesByName('runtrace:overview-rendered')[0]?.startTime ?? -1,
      );
      attempts.push(ms);
      best = Math.min(best, ms);
    }
    console.log(`overview drawn: ${attempts.map((ms) => ms.toFixed(0)).join(', ')} ms after navigation start`);
    recordBudgets({ overviewDrawnMs: Math.round(best) });
    expect(best).toBeGreaterThan(0);
    expect(best).toBeLessThanOrEqual(BUDGET.overviewDrawnMs);

    for (const chart of CHARTS) await expect.poll(() => page.getByTestId(chart).count()).toBe(1);
    // 30 days by the UTC day; the seeded runs cover them all (the oldest may fall a minute outside the range).
    const runs = Number(
      ((await page.getByTestId('overview-totals').locator('.fact').first().textContent()) ?? '').replace(/\D+/g, ''),
    );
    expect(runs).toBeGreaterThan(SEEDED_RUNS * 0.99);
    expect(runs).toBeLessThanOrEqual(SEEDED_RUNS);
    expect(await page.getByTestId('chart-cost').getByTestId('chart-summary').textContent()).toMatch(
      /^Cost by agent over 31 days, .+; total \$[\d.,]+; highest \$[\d.]+ \(.+\)\.$/,
    );
    // Five agents, three named: names where they have one, a short id where not.
    const agents = await legend(page, 'chart-runs');
    expect(agents).toHaveLength(5);
    for (const name of SEEDED_AGENT_NAMES) expect(agents).toContain(name);
    expect(agents.filter((a) => /^agent-[0-9a-f]{8}$/.test(a))).toHaveLength(2);
    // Stacked bars of 5 agents over up to 31 days; lines with a point per day.
    expect(await page.getByTestId('chart-runs').getByTestId('chart-mark').count()).toBeGreaterThan(5 * 28);
    expect(await page.getByTestId('chart-ttft').locator('path').count()).toBe(5);
    expect(await page.getByTestId('topAgentsByCost').getByTestId('top-entry').count()).toBe(5);
    expect(await page.getByTestId('topModelsByCost').getByTestId('top-entry').allTextContents()).toEqual(
      expect.arrayContaining(SEEDED_MODELS.map((m) => m.model)),
    );
    // The text alternative: every value in a table, one click away.
    // <details> tells its toggle a task after the click, and the table renders then: wait for its rows.
    await page.getByTestId('chart-cost').getByText('Table of values').click();
    await expect.poll(() => page.getByTestId('chart-cost').locator('tbody tr').count()).toBe(31);

    await checkAtWidths(page, 'overview', () => drawn(page, 'day', 'agent'));
    // At phone width every chart is as wide as the screen allows, not wider (checkAtWidths checks the page).
    await page.setViewportSize({ width: 360, height: 800 });
    const widths = await page
      .locator('.chart-plot svg')
      .evaluateAll((svgs) => svgs.map((s) => s.getBoundingClientRect().right));
    expect(Math.max(...widths)).toBeLessThanOrEqual(360);
  });

  it('keeps range, grouping and percentile in the URL, and redraws the charts for them', async () => {
    const page = await dashboard.newPage();
    await page.goto(`${dashboard.url}/#/overview?range=30d`);
    await drawn(page, 'day', 'agent');

    await page.getByLabel('Time range').selectOption('7d');
    await expect.poll(() => hashOf(page).params.get('range')).toBe('7d');
    // 7 days by the hour.
    await drawn(page, 'hour', 'agent');
    expect(await page.getByTestId('chart-cost').getByTestId('chart-summary').textContent()).toMatch(
      /^Cost by agent over 16[89] hours/,
    );

    // A click is not undone while the route changes: the radio is checked as soon as the click returns (React puts a
    // controlled input back to its props right after the change handler; the browser's hashchange came a task later).
    const checkedAtOnce = await page.getByRole('radio', { name: 'Model' }).evaluate((radio: HTMLInputElement) => {
      radio.click();
      return radio.checked;
    });
    expect(checkedAtOnce).toBe(true);
    await expect.poll(() => hashOf(page).params.get('group')).toBe('model');
    await drawn(page, 'hour', 'model');
    expect((await legend(page, 'chart-cost')).sort()).toEqual(SEEDED_MODELS.map((m) => m.model).sort());

    await page.getByRole('radio', { name: 'p50' }).check();
    await expect.poll(() => hashOf(page).params.get('pct')).toBe('p50');
    await expect
      .poll(() => page.getByTestId('chart-ttft').locator('h3').textContent())
      .toBe('p50 time to first token by model');
    expect(hashOf(page).params.get('range')).toBe('7d');

    // Back: the previous view, from the URL alone.
    await page.goBack();
    await expect.poll(() => hashOf(page).params.get('pct')).toBe(null);
    await page.goBack();
    await expect.poll(() => hashOf(page).params.get('group')).toBe(null);
    await drawn(page, 'hour', 'agent');
    expect(await legend(page, 'chart-cost')).toContain(SEEDED_AGENT_NAMES[0]);
  });

  it('links chart marks (mouse and keyboard) and top-list entries to the runs list filtered to them', async () => {
    const page = await dashboard.newPage();
    await page.goto(`${dashboard.url}/#/overview?range=30d&group=model`);
    await drawn(page, 'day', 'model');

    // Hover: the value in a tooltip.
    const cost = page.getByTestId('chart-cost');
    const mark = cost.getByTestId('chart-mark').last();
    await mark.hover();
    await expect.poll(() => cost.locator('.chart-tooltip').textContent()).toMatch(/: \$[\d.]+$/);

    // Keyboard: one tab stop per chart, arrows between marks, focus shows the value, Enter follows the link.
    await cost.getByTestId('chart-mark').first().focus();
    const first = await page.evaluate(() => document.activeElement?.getAttribute('aria-label'));
    await page.keyboard.press('ArrowRight');
    const second = await page.evaluate(() => document.activeElement?.getAttribute('aria-label'));
    expect(second).not.toBe(first);
    expect(second).toMatch(/^(gpt-4\.1|claude-sonnet-4|gemini-2\.5-flash), .+: \$[\d.]+\. Show these runs\.$/);
    expect(await cost.locator('.chart-tooltip').textContent()).toContain(second?.split(',')[0]);
    expect(await cost.locator('[data-testid=chart-mark][tabindex="0"]').count()).toBe(1);
    const model = second!.split(',')[0]!;
    await page.keyboard.press('Enter');
    await expect.poll(() => hashOf(page).path).toBe('/runs');
    const link = hashOf(page).params;
    expect(link.get('model')).toBe(model);
    expect(link.get('sort')).toBe('cost');
    // The bucket's own range: one UTC day.
    expect(Date.parse(link.get('to')!) - Date.parse(link.get('from')!)).toBe(86_400_000);
    expect(new Date(link.get('from')!).toISOString()).toMatch(/T00:00:00\.000Z$/);

    // The error rate's marks lead to the failed runs.
    await page.goBack();
    await drawn(page, 'day', 'model');
    const errorHref = await page.getByTestId('chart-errorRate').getByTestId('chart-mark').first().getAttribute('href');
    expect(new URLSearchParams(errorHref!.split('?')[1]).get('status')).toBe('failed');

    // A top-list entry: that model over the overview's range.
    const top = page.getByTestId('topModelsByCost').getByTestId('top-entry').first();
    const topModel = await top.textContent();
    await top.click();
    await expect.poll(() => hashOf(page).path).toBe('/runs');
    expect(Object.fromEntries(hashOf(page).params)).toEqual({ model: topModel, range: '30d', sort: 'cost' });
  });

  it('shows an empty state for a range without runs, apart from loading and errors', async () => {
    const page = await dashboard.pageWithKey('#/overview?from=2020-01-01T00:00:00.000Z&to=2020-01-08T00:00:00.000Z');
    await page.getByTestId('empty').waitFor();
    expect(await page.getByTestId('empty').textContent()).toMatch(/^No runs between /);
    expect(await page.getByTestId('error').count()).toBe(0);
    expect(await page.getByTestId('overview').count()).toBe(0);
    expect(await page.locator('[aria-busy=true]').count()).toBe(0);
    await checkAtWidths(page, 'overview-empty', () => page.getByTestId('empty').waitFor());
  });
});
