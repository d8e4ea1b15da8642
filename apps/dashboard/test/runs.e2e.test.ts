/**
 * The runs list in Chromium: its first-load budget over the seeded runs, scrolling by cursor, the API key; the view
 * in the URL (filters, range, search, sort) through Back and reload; sorting on the server; agent names; the two
 * empty states; desktop and phone width.
 */
import type { Page, Route } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { SEEDED_RUNS } from './global-setup.ts';
import { checkAtWidths, recordBudgets, shot, useDashboard } from './harness.ts';

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

/**
 * Runs of the e2e organization only these tests write: one model name of their own (the filter that isolates them
 * from other files' runs), priced, over two named agents, with costs and durations in different orders.
 */
interface Written {
  model: string;
  agents: { support: string; billing: string };
  names: { support: string; billing: string };
  runs: string[];
  failed: string;
}

async function writeRuns(): Promise<Written> {
  const producer = dashboard.producer;
  const tag = crypto.randomUUID().slice(0, 8);
  const model = `e2e-runs-${tag}`;
  await producer.prices.upsert.mutate({ model, effectiveFrom: '2020-01-01T00:00:00Z', input: '10', output: '30' });
  const agents = { support: `agent-${crypto.randomUUID()}`, billing: `agent-${crypto.randomUUID()}` };
  const names = { support: `Support bot ${tag}`, billing: `Billing bot ${tag}` };
  // Tokens (so cost) rise with i while durations fall: the two sorts must list them in opposite orders.
  const plan = [
    { agent: 'support', tokens: 1_000, durationMs: 9_000, status: 'completed' },
    { agent: 'support', tokens: 20_000, durationMs: 4_000, status: 'completed' },
    { agent: 'billing', tokens: 300_000, durationMs: 2_000, status: 'completed' },
    { agent: 'billing', tokens: 5_000, durationMs: 700, status: 'failed' },
  ] as const;
  const runs: string[] = [];
  for (const p of plan) {
    const run = await producer.runs.create.mutate({ agentId: agents[p.agent], agentName: names[p.agent] });
    await producer.runs.update.mutate({ runId: run.id, status: 'running' });
    await producer.steps.create.mutate({
      runId: run.id,
      model,
      providerName: 'openai',
      promptTokens: p.tokens / 2,
      completionTokens: p.tokens / 2,
      status: 'success',
    });
    await producer.runs.update.mutate({
      runId: run.id,
      status: p.status,
      stopReason: p.status === 'failed' ? 'error' : 'end_turn',
      totalDurationNs: String(p.durationMs * 1_000_000),
    });
    runs.push(run.id);
  }
  return { model, agents, names, runs, failed: runs[3]! };
}

const shownIds = (page: Page) =>
  page.getByTestId('run-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run-id')));
const hashOf = (page: Page) => page.evaluate(() => decodeURIComponent(window.location.hash));

describe('the runs view', () => {
  let w: Written;
  beforeAll(async () => {
    w = await writeRuns();
  });

  /** Waits until the rows shown are exactly `ids`, in that order. */
  const showsExactly = async (page: Page, ids: string[]) => {
    await expect.poll(() => shownIds(page), { timeout: 10_000 }).toEqual(ids);
  };

  it('opens filtered from a URL, keeps filters, range, search and sort in it, and Back and reload restore them', async () => {
    const page = await dashboard.pageWithKey(`#/runs?model=${w.model}&status=failed`);
    await showsExactly(page, [w.failed]);
    expect(await page.getByRole('checkbox', { name: 'failed' }).isChecked()).toBe(true);
    expect(await page.getByLabel('Model').inputValue()).toBe(w.model);
    await expect.poll(() => page.getByTestId('runs-count').textContent()).toBe('1 run matches');

    // A discrete choice is a new history entry.
    await page.getByRole('checkbox', { name: 'completed' }).check();
    await expect.poll(() => hashOf(page)).toBe(`#/runs?status=failed,completed&model=${w.model}`);
    await expect.poll(async () => (await shownIds(page)).length).toBe(4);
    await page.getByTestId('sort-cost').click();
    await expect.poll(() => hashOf(page)).toContain('sort=cost');
    const byCost = (await dashboard.producer.runs.list.query({ models: [w.model], sortBy: 'cost' })).items;
    await showsExactly(
      page,
      byCost.map((r) => r.id),
    );
    await page.goBack();
    await expect.poll(() => hashOf(page)).toBe(`#/runs?status=failed,completed&model=${w.model}`);
    await showsExactly(page, [...w.runs].reverse());
    await page.goBack();
    await showsExactly(page, [w.failed]);
    await page.goForward();
    await page.goForward();
    await showsExactly(
      page,
      byCost.map((r) => r.id),
    );

    // Typing replaces the entry: Back after a search leaves the search, not one keystroke.
    const target = w.runs[1]!;
    const search = page.getByLabel('Search by run id');
    await search.fill(target.slice(0, 6));
    await page.getByTestId('search-hint').waitFor();
    await search.fill(target.slice(0, 13).toUpperCase().replace('RUN-', 'run-'));
    await showsExactly(page, [target]);
    expect(await page.getByTestId('search-hint').count()).toBe(0);
    await expect.poll(() => hashOf(page)).toContain(`q=${target.slice(0, 13).toUpperCase().replace('RUN-', 'run-')}`);

    // A preset range, then a reload: the same view, read back from the URL.
    await page.getByLabel('Time range').selectOption('1h');
    await expect.poll(() => hashOf(page)).toContain('range=1h');
    await page.reload();
    await showsExactly(page, [target]);
    expect(await page.getByLabel('Time range').inputValue()).toBe('1h');
    expect(await search.inputValue()).toBe(target.slice(0, 13).toUpperCase().replace('RUN-', 'run-'));
    expect(await page.getByTestId('sort-cost').locator('xpath=..').getAttribute('aria-sort')).toBe('descending');
    await page.goBack();
    await expect.poll(() => hashOf(page)).not.toContain('range=1h');
    await showsExactly(page, [target]);

    // Clear filters keeps the sort, drops the rest; the button goes with them.
    await page.getByTestId('clear-filters').click();
    await expect.poll(() => hashOf(page)).toBe('#/runs?sort=cost');
    await expect.poll(() => page.getByTestId('clear-filters').count()).toBe(0);
    expect(await search.inputValue()).toBe('');
    expect(await page.getByRole('checkbox', { name: 'failed' }).isChecked()).toBe(false);
    await shot(page, 'runs-cleared');
  });

  it('sorts by cost and by duration on the server, both ways, with aria-sort on the header', async () => {
    const page = await dashboard.pageWithKey(`#/runs?model=${w.model}`);
    await showsExactly(page, [...w.runs].reverse());
    const created = page.getByTestId('sort-created').locator('xpath=..');
    expect(await created.getAttribute('aria-sort')).toBe('descending');
    const server = async (sortBy: 'cost' | 'duration', order: 'asc' | 'desc') =>
      (await dashboard.producer.runs.list.query({ models: [w.model], sortBy, order })).items.map((r) => r.id);
    const costDesc = await server('cost', 'desc');
    const durationDesc = await server('duration', 'desc');
    // The fixture's point: the two sorts disagree, so the page's order shows which one the server applied.
    expect(costDesc).toEqual([w.runs[2], w.runs[1], w.runs[3], w.runs[0]]);
    expect(durationDesc).toEqual([w.runs[0], w.runs[1], w.runs[2], w.runs[3]]);

    await page.getByTestId('sort-cost').click();
    await showsExactly(page, costDesc);
    expect(await page.getByTestId('sort-cost').locator('xpath=..').getAttribute('aria-sort')).toBe('descending');
    expect(await created.getAttribute('aria-sort')).toBe('none');
    const costs = await page.getByTestId('run-cost').allTextContents();
    expect(costs.every((c) => c.startsWith('$'))).toBe(true);
    await page.getByTestId('sort-cost').click();
    await expect.poll(() => hashOf(page)).toContain('sort=cost&order=asc');
    await showsExactly(page, await server('cost', 'asc'));
    expect(await page.getByTestId('sort-cost').locator('xpath=..').getAttribute('aria-sort')).toBe('ascending');

    // Keyboard: the sort headers are buttons in the Tab order.
    await page.getByTestId('sort-duration').focus();
    await page.keyboard.press('Enter');
    await showsExactly(page, durationDesc);
    const durations = await page.getByTestId('run-duration').allTextContents();
    expect(durations).toEqual(['9.00 s', '4.00 s', '2.00 s', '700 ms']);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('sort-created');
  });

  it('shows agents by name, in the rows and in the agent filter, and follows a rename', async () => {
    const page = await dashboard.pageWithKey(`#/runs?model=${w.model}`);
    await showsExactly(page, [...w.runs].reverse());
    await expect
      .poll(() => page.getByTestId('run-agent').allTextContents())
      .toEqual([w.names.billing, w.names.billing, w.names.support, w.names.support]);
    const agentFilter = page.getByLabel('Agent');
    await agentFilter.selectOption({ label: w.names.support });
    await expect.poll(() => hashOf(page)).toContain(`agent=${w.agents.support}`);
    await showsExactly(page, [w.runs[1]!, w.runs[0]!]);

    const renamed = `Helpdesk ${w.model}`;
    await dashboard.producer.agents.update.mutate({ agentId: w.agents.billing, name: renamed });
    await page.goto(`${dashboard.url}/#/runs?model=${w.model}&status=failed`);
    // Names are cached for the session (a hash change keeps them); a reload asks again.
    await page.reload();
    await expect.poll(() => page.getByTestId('run-agent').allTextContents()).toEqual([renamed]);
    await dashboard.producer.agents.update.mutate({ agentId: w.agents.billing, name: w.names.billing });
  });

  it('tells an empty organization from filters that match nothing', async () => {
    // Filters that match nothing: say so, and offer to clear them.
    const page = await dashboard.pageWithKey(`#/runs?model=${w.model}&status=cancelled`);
    const empty = page.getByTestId('empty');
    await empty.waitFor();
    expect(await empty.textContent()).toContain('No runs match these filters');
    await checkAtWidths(page, 'runs-empty-filtered', () => empty.waitFor());
    await page.getByTestId('empty-clear').click();
    await expect.poll(() => hashOf(page)).toBe('#/runs');
    await page.getByTestId('run-row').first().waitFor();

    // An organization without runs: the default one's list answered empty (the e2e organization is shared with the
    // other files, which write runs into it).
    const fresh = await dashboard.newPage();
    await fresh.route(/\/trpc\/[^?]*runs\.(list|count)/, answerEmpty);
    await fresh.goto(`${dashboard.url}/#/runs`);
    await fresh.getByTestId('empty').waitFor();
    const text = (await fresh.getByTestId('empty').textContent()) ?? '';
    expect(text).toContain('No runs in this organization yet');
    expect(text).toContain('pnpm simulate');
    expect(await fresh.getByTestId('clear-filters').count()).toBe(0);
    await checkAtWidths(fresh, 'runs-empty', () => fresh.getByTestId('empty').waitFor());
  });

  it('fits desktop and phone width with data: a table, then cards, nothing wider than the viewport', async () => {
    const page = await dashboard.pageWithKey(`#/runs?model=${w.model}`);
    const rows = page.getByTestId('run-row');
    // Drawn in full: rows, the count (asked after them) and the agents' names (likewise).
    const ready = async () => {
      await rows.first().waitFor();
      await expect.poll(() => page.getByTestId('runs-count').textContent()).toBe('4 runs match');
      await expect.poll(() => page.getByTestId('run-agent').first().textContent()).not.toMatch(/^agent-/);
    };
    await checkAtWidths(page, 'runs', ready);
    // At 360 px, the narrowest width supported: cards, measured (taller than a table row), none overlapping.
    await page.setViewportSize({ width: 360, height: 740 });
    await expect.poll(async () => (await rows.first().boundingBox())?.height ?? 0).toBeGreaterThan(80);
    const boxes = await rows.evaluateAll((els) => els.map((el) => el.getBoundingClientRect().toJSON() as DOMRect));
    for (let i = 1; i < boxes.length; i += 1) expect(boxes[i]!.top).toBeGreaterThanOrEqual(boxes[i - 1]!.bottom - 1);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await shot(page, 'runs-360');
    // Keyboard: a row's link takes focus and opens the run.
    await page.locator('.run-link').first().focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => hashOf(page)).toMatch(/^#\/runs\/run-/);
  });
});

/** Answers runs.list and runs.count of a batch as an organization without runs would; the rest as the api does. */
async function answerEmpty(route: Route): Promise<void> {
  const url = new URL(route.request().url());
  const procedures = url.pathname.replace(/^.*\/trpc\//, '').split(',');
  const real = procedures.every((p) => p === 'runs.list' || p === 'runs.count')
    ? null
    : ((await (await route.fetch()).json()) as unknown[]);
  const answers = procedures.map((p, i) =>
    p === 'runs.list'
      ? { result: { data: { items: [], nextCursor: null } } }
      : p === 'runs.count'
        ? { result: { data: { count: 0, capped: false } } }
        : real?.[i],
  );
  await route.fulfill({ contentType: 'application/json', body: JSON.stringify(answers) });
}
