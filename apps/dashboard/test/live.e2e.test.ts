/** A background run's live view in Chromium: streaming, a forced reconnect, cancel, and render lag under load. */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { STALE_AFTER_MS } from '../src/lib/live-activity.ts';
import { formatUsd } from '../src/lib/format.ts';
import { percentile } from './fixtures.ts';
import { attr, checkAtWidths, recordBudgets, shot, useDashboard } from './harness.ts';

const BUDGET = { longTaskMs: 50 };
/** The live-view load: one token per append, 200 a second, for 5 seconds. */
const TOKENS_PER_SECOND = 200;
const TOKENS = 1000;
const dashboard = useDashboard();

async function backgroundRun(): Promise<string> {
  const run = await dashboard.producer.runs.create.mutate({
    agentId: `agent-${crypto.randomUUID()}`,
    background: true,
  });
  await dashboard.producer.runs.update.mutate({ runId: run.id, status: 'running' });
  return run.id;
}

const assistantText = (page: Page) =>
  page.locator('[data-testid=live-message][data-kind=assistant_message] .message-text').first().textContent();

describe('the live view', () => {
  it('shows a background run live: in the list, streaming, exact after a forced reconnect, cancelled for every watcher', async () => {
    const list = await dashboard.pageWithKey('#/runs');
    await expect.poll(() => list.getByTestId('changes-status').textContent()).toBe('live');
    const runId = await backgroundRun();
    const row = list.locator(`[data-testid=run-row][data-run-id="${runId}"]`);
    await row.waitFor();
    await expect.poll(() => row.getAttribute('data-status')).toBe('running');

    const watcher = await dashboard.pageWithKey(`#/runs/${runId}/live`);
    const second = await dashboard.pageWithKey(`#/runs/${runId}/live`);
    for (const page of [watcher, second])
      await expect.poll(() => attr(page, 'live-status', 'data-connection')).toBe('live');

    const messageId = `message-${crypto.randomUUID()}`;
    let expected = '';
    const append = async (from: number, to: number) => {
      for (let i = from; i < to; i += 1) {
        const content = `token${i} `;
        expected += content;
        await dashboard.producer.runs.appendEvents.mutate({
          runId,
          events: [{ messageType: 'assistant_message', id: messageId, content }],
        });
      }
    };
    await append(0, 40);
    await expect.poll(() => assistantText(watcher)).toBe(expected);

    // Cut every connection the browsers hold; what is appended meanwhile arrives after the reconnect, once.
    expect(dashboard.proxy.dropAll()).toBeGreaterThan(0);
    await append(40, 80);
    await expect.poll(() => attr(watcher, 'live-reconnects', 'data-count'), { timeout: 20_000 }).not.toBe('0');
    await append(80, 100);
    for (const page of [watcher, second]) {
      await expect.poll(() => assistantText(page), { timeout: 20_000 }).toBe(expected);
      expect(await attr(page, 'live-events', 'data-duplicates')).toBe('0');
      expect(await attr(page, 'live-events', 'data-count')).toBe('100');
    }
    expect(await watcher.getByTestId('live-reconnects').textContent()).toMatch(/reconnected \d+×/);
    await shot(watcher, 'live-after-reconnect');

    // Cancel asks first: dismissed, the run keeps running; confirmed, it is cancelled for every watcher.
    const dialog = watcher.getByRole('dialog', { name: 'Cancel this run?' });
    await watcher.getByRole('button', { name: 'Cancel run…' }).click();
    await dialog.waitFor();
    expect(await watcher.evaluate(() => document.activeElement?.textContent)).toBe('Keep it running');
    await shot(watcher, 'live-cancel-confirm');
    await dialog.getByRole('button', { name: 'Keep it running' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await dashboard.producer.runs.retrieve.query({ runId })).status).toBe('running');
    await watcher.getByRole('button', { name: 'Cancel run…' }).click();
    await watcher.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect((await dashboard.producer.runs.retrieve.query({ runId })).status).toBe('running');
    await watcher.getByRole('button', { name: 'Cancel run…' }).click();
    await dialog.getByRole('button', { name: 'Yes, cancel the run' }).click();
    for (const page of [watcher, second]) {
      await expect
        .poll(() =>
          page
            .getByTestId('live-stop-reason')
            .textContent()
            .catch(() => ''),
        )
        .toBe('stop reason: cancelled');
      await expect.poll(() => attr(page, 'live-status', 'data-connection')).toBe('ended');
      await expect.poll(() => page.locator('.run-header [data-testid=status]').textContent()).toBe('cancelled');
    }
    await expect.poll(() => row.getAttribute('data-status')).toBe('cancelled');
    expect((await dashboard.producer.runs.retrieve.query({ runId })).status).toBe('cancelled');
    await shot(watcher, 'live-cancelled');
    await shot(list, 'runs-live-cancelled');
  });

  it('opens an active background run on Live, with step dividers, times from the run start, staleness and usage', async () => {
    const runId = await backgroundRun();
    const run = await dashboard.producer.runs.retrieve.query({ runId });
    const step = await dashboard.producer.steps.create.mutate({
      runId,
      model: 'gpt-4.1',
      providerName: 'openai',
      promptTokens: 1234,
      completionTokens: 56,
      status: 'success',
    });
    // No tab in the address: a running background run opens on Live (and the address says so).
    const page = await dashboard.pageWithKey(`#/runs/${runId}`);
    await expect.poll(() => page.evaluate(() => location.hash)).toBe(`#/runs/${runId}/live`);
    await expect.poll(() => attr(page, 'live-status', 'data-connection')).toBe('live');
    expect(await page.getByRole('link', { name: 'Live stream' }).getAttribute('aria-current')).toBe('page');

    const at = (ms: number) => new Date(Date.parse(run.createdAt) + ms).toISOString();
    await dashboard.producer.runs.appendEvents.mutate({
      runId,
      events: [
        { messageType: 'reasoning_message', id: 'r-1', stepId: 'step-a', reasoning: 'Look it up.', date: at(1500) },
        { messageType: 'tool_call_message', id: 't-1', stepId: 'step-a', toolCall: { name: 'web_search' } },
        { messageType: 'assistant_message', id: 'a-1', stepId: 'step-b', content: 'Sunny.' },
      ],
    });
    const dividers = page.getByTestId('live-step-divider');
    await expect.poll(() => dividers.allTextContents()).toEqual(['Step 1', 'Step 2']);
    const offsets = await page.locator('[data-testid=live-message] [data-testid=offset]').allTextContents();
    expect(offsets[0]).toBe('+1.500 s');
    expect(offsets).toHaveLength(3);
    for (const offset of offsets) expect(offset).toMatch(/^\+(\d+ min )?\d+\.\d{3} s$/);
    expect(await page.locator('[data-testid=live-message] [data-testid=offset]').first().getAttribute('title')).toMatch(
      /\d[.,]\d{3}/,
    );
    expect(await page.getByTestId('live-elapsed').textContent()).toMatch(/^elapsed \d+:\d{2}$/);
    expect(await attr(page, 'live-status', 'data-stale')).toBe('false');

    await checkAtWidths(page, 'live', () => page.getByTestId('live-message').last().waitFor());

    // Silence: past the threshold the view stops saying "live" and counts since the last event, ticking.
    await expect.poll(() => attr(page, 'live-status', 'data-stale'), { timeout: STALE_AFTER_MS + 10_000 }).toBe('true');
    expect(await page.getByTestId('live-status').textContent()).toMatch(/^last event \d+ s ago$/);
    expect(await attr(page, 'live-status', 'data-connection')).toBe('live');
    const first = await page.getByTestId('live-status').textContent();
    await expect.poll(() => page.getByTestId('live-status').textContent()).not.toBe(first);
    await shot(page, 'live-stale');
    await dashboard.producer.runs.appendEvents.mutate({
      runId,
      events: [{ messageType: 'assistant_message', id: 'a-1', stepId: 'step-b', content: ' 21 °C.' }],
    });
    await expect.poll(() => attr(page, 'live-status', 'data-stale')).toBe('false');
    expect(await page.getByTestId('live-status').textContent()).toBe('live');

    await dashboard.producer.runs.appendEvents.mutate({
      runId,
      events: [
        { messageType: 'stop_reason', stopReason: 'end_turn' },
        { messageType: 'usage_statistics', promptTokens: 1234, completionTokens: 56, totalTokens: 1290, stepCount: 1 },
      ],
      end: true,
    });
    const usage = page.getByTestId('live-usage');
    await expect
      .poll(() => usage.textContent().catch(() => ''))
      .toContain('1,234 prompt + 56 completion = 1,290 tokens');
    expect(await usage.textContent()).toContain('1 step');
    await expect.poll(() => page.getByTestId('live-cost').textContent()).toBe(formatUsd(step.costUsd));
    await expect.poll(() => attr(page, 'live-status', 'data-connection')).toBe('ended');
    expect(await page.getByTestId('live-elapsed').count()).toBe(0);
    await shot(page, 'live-ended');
  });

  it(`draws a live view at ${TOKENS_PER_SECOND} tokens/s without a long task over ${BUDGET.longTaskMs} ms, and measures render lag`, async () => {
    const runId = await backgroundRun();
    const page = await dashboard.pageWithKey(`#/runs/${runId}/live`);
    await expect.poll(() => attr(page, 'live-status', 'data-connection')).toBe('live');
    const measureFrom = await page.evaluate(() => performance.now());
    const messageId = `message-${crypto.randomUUID()}`;
    // An LLM bridge: tokens arrive every 5 ms (open loop, on the clock); each append carries the tokens that arrived
    // while the previous one was in flight, one event per token, so the view gets 200 events a second in order.
    const sentAt: number[] = [];
    const interval = 1000 / TOKENS_PER_SECOND;
    const t0 = Date.now();
    const arrived = () => Math.min(TOKENS, Math.floor((Date.now() - t0) / interval) + 1);
    for (let sent = 0; sent < TOKENS; ) {
      const upTo = arrived();
      if (upTo === sent) {
        await new Promise((resolve) => setTimeout(resolve, t0 + sent * interval - Date.now()));
        continue;
      }
      const events = [];
      for (let i = sent; i < upTo; i += 1) {
        sentAt.push(t0 + i * interval);
        events.push({ messageType: 'assistant_message' as const, id: messageId, content: `t${i} ` });
      }
      await dashboard.producer.runs.appendEvents.mutate({ runId, events });
      sent = upTo;
    }
    const rate = TOKENS / ((Date.now() - t0) / 1000);
    await expect.poll(() => attr(page, 'live-events', 'data-count'), { timeout: 30_000 }).toBe(String(TOKENS));
    const { marks, timeOrigin, longTasks } = await page.evaluate(() => ({
      marks: performance
        .getEntriesByName('runtrace:live-render')
        .map((m) => ({ at: m.startTime, events: ((m as PerformanceMark).detail as { events: number }).events })),
      timeOrigin: performance.timeOrigin,
      longTasks: window.__longTasks,
    }));
    // Token i is drawn at the first frame that drew at least i + 1 events; its lag runs from the producer's send.
    const lags: number[] = [];
    let m = 0;
    for (let i = 0; i < TOKENS; i += 1) {
      while (m < marks.length && marks[m]!.events < i + 1) m += 1;
      const mark = marks[m];
      if (mark) lags.push(timeOrigin + mark.at - sentAt[i]!);
    }
    const during = longTasks.filter((t) => t.start >= measureFrom);
    if (during.length)
      console.log(
        `long tasks (ms after the stream started): ${JSON.stringify(during.map((t) => [Math.round(t.start - measureFrom), Math.round(t.duration)]))}`,
      );
    const longest = Math.max(0, ...during.map((t) => t.duration));
    const budgets: Record<string, number> = {};
    budgets.liveTokensPerSecond = Math.round(rate);
    budgets.liveLongestTaskMs = Math.round(longest);
    budgets.liveRenderLagP50Ms = Math.round(percentile(lags, 50) * 10) / 10;
    budgets.liveRenderLagP99Ms = Math.round(percentile(lags, 99) * 10) / 10;
    budgets.liveRenderLagMaxMs = Math.round(Math.max(...lags) * 10) / 10;
    budgets.liveFramesDrawn = marks.length;
    recordBudgets(budgets);
    console.log(
      `live view at ${rate.toFixed(0)} tokens/s: ${marks.length} frames drawn, longest task ${longest.toFixed(0)} ms ` +
        `(${during.length} over 50 ms), render lag p50 ${budgets.liveRenderLagP50Ms} ms, p99 ${budgets.liveRenderLagP99Ms} ms, max ${budgets.liveRenderLagMaxMs} ms`,
    );
    expect(rate).toBeGreaterThan(TOKENS_PER_SECOND * 0.75);
    expect(lags).toHaveLength(TOKENS);
    expect(during).toEqual([]);
    expect(await assistantText(page)).toBe(Array.from({ length: TOKENS }, (_, i) => `t${i} `).join(''));
    await dashboard.producer.runs.appendEvents.mutate({
      runId,
      events: [{ messageType: 'stop_reason', stopReason: 'end_turn' }],
      end: true,
    });
    await expect.poll(() => attr(page, 'live-status', 'data-connection')).toBe('ended');
    await shot(page, 'live-200-tokens-per-second');
  });
});
