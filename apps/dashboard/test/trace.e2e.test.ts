/** A run's trace waterfall in Chromium: spans exported over OTLP/HTTP under the trace id of its steps. */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { exportRunTrace } from './fixtures.ts';
import { checkAtWidths, shot, useDashboard } from './harness.ts';
import { exportSpans } from './otlp-spans.ts';

const dashboard = useDashboard();

const rowNames = (page: Page) =>
  page.getByTestId('span-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-span-name')));
const row = (page: Page, name: string, nth = 0) =>
  page.locator(`[data-testid=span-row][data-span-name="${name}"]`).nth(nth);

/** Every bar label inside its track, and every first-token label below the axis and clear of the others. */
async function labelsInside(page: Page): Promise<string[]> {
  return await page.evaluate(() => {
    const problems: string[] = [];
    for (const track of Array.from(document.querySelectorAll('.span-track'))) {
      const t = track.getBoundingClientRect();
      const label = track.querySelector('.span-duration')?.getBoundingClientRect();
      if (label && (label.left < t.left - 0.5 || label.right > t.right + 0.5)) {
        problems.push(`bar label ${label.left}–${label.right} outside track ${t.left}–${t.right}`);
      }
    }
    const axis = document.querySelector('.wf-axis')?.getBoundingClientRect();
    const marks = Array.from(document.querySelectorAll('[data-testid=ttft-label]')).map((m) =>
      m.getBoundingClientRect(),
    );
    for (const [i, m] of marks.entries()) {
      if (axis && (m.top < axis.bottom - 0.5 || m.left < axis.left - 0.5 || m.right > axis.right + 0.5)) {
        problems.push(`first-token label ${m.left}–${m.right} @${m.top} overlaps the axis or leaves the track`);
      }
      for (const other of marks.slice(i + 1)) {
        const apart = m.right <= other.left || other.right <= m.left || m.bottom <= other.top || other.bottom <= m.top;
        if (!apart) problems.push('two first-token labels overlap');
      }
    }
    return problems;
  });
}

describe('the trace waterfall', () => {
  it('draws spans by kind with a legend, folds subtrees, searches, zooms and pins span details with LLM usage', async () => {
    const run = await dashboard.producer.runs.create.mutate({ agentId: `agent-${crypto.randomUUID()}` });
    const traceId = crypto.randomUUID().replaceAll('-', '');
    await dashboard.producer.steps.create.mutate({
      runId: run.id,
      model: 'gpt-4.1',
      promptTokens: 812,
      completionTokens: 64,
      traceId,
    });
    const t0 = BigInt(Date.now()) * 1_000_000n;
    const spans = await exportRunTrace(dashboard.apiUrl, dashboard.apiKey, traceId);
    const step1 = spans.find((s) => s.name === 'agent_step')?.spanId ?? '';
    await exportSpans(dashboard.apiUrl, dashboard.apiKey, traceId, t0, [
      {
        parentSpanId: step1,
        name: 'llm_request',
        start: 30,
        end: 380,
        attrs: {
          'gen_ai.system': 'openai',
          'gen_ai.request.model': 'gpt-4.1',
          'gen_ai.response.model': 'gpt-4.1-2025-04-14',
          'gen_ai.usage.input_tokens': 812,
          'gen_ai.usage.output_tokens': 64,
          'gen_ai.usage.cost': '0.0031',
        },
      },
    ]);
    await expect
      .poll(async () => (await dashboard.producer.runs.trace.query({ runId: run.id, llmSpans: true })).length, {
        timeout: 20_000,
      })
      .toBe(spans.length + 1);
    // Letta's view filter (the REST answer, and runs.trace by default) still leaves the LLM call out.
    expect(await dashboard.producer.runs.trace.query({ runId: run.id })).toHaveLength(spans.length);

    const page = await dashboard.pageWithKey(`#/runs/${run.id}/trace`);
    await page.getByTestId('waterfall').waitFor();
    const all = [
      'POST /v1/agents/{agent_id}/messages',
      'agent_step',
      'time_to_first_token',
      'llm_request',
      'LettaAgentV3._execute_tool',
      'agent_step',
    ];
    expect(await rowNames(page)).toEqual(all);

    // Kinds: a tag on every row, a colour per kind, each kind in the legend.
    const kinds = await page
      .getByTestId('span-row')
      .evaluateAll((rows) =>
        rows.map((r) => [r.getAttribute('data-kind'), r.querySelector('[data-testid=span-kind]')?.textContent]),
      );
    expect(kinds).toEqual([
      ['request', 'HTTP'],
      ['agent', 'STEP'],
      ['llm', 'LLM'],
      ['llm', 'LLM'],
      ['tool', 'TOOL'],
      ['agent', 'STEP'],
    ]);
    const colours = await page
      .getByTestId('span-bar')
      .evaluateAll((bars) => bars.map((b) => getComputedStyle(b).backgroundColor));
    expect(new Set(colours).size).toBe(4);
    expect(colours[1]).toBe(colours[5]);
    expect(colours[2]).toBe(colours[3]);
    expect(
      await page.getByTestId('legend-item').evaluateAll((items) => items.map((i) => i.getAttribute('data-kind'))),
    ).toEqual(['request', 'agent', 'llm', 'tool']);

    // The LLM call's model and tokens on its row.
    expect(await row(page, 'llm_request').getByTestId('span-usage').textContent()).toContain(
      'gpt-4.1-2025-04-14 · 812 in / 64 out · $0.0031',
    );

    // Axis: 5–8 nice ticks with a gridline each; first-token marker and labels clear of the axis; nothing overflows.
    const ticks = await page.getByTestId('axis-tick').allTextContents();
    expect(ticks.length).toBeGreaterThanOrEqual(5);
    expect(ticks.length).toBeLessThanOrEqual(8);
    expect(ticks[0]).toBe('0');
    expect(await page.getByTestId('gridline').count()).toBe(ticks.length);
    expect(await page.getByTestId('ttft-marker').count()).toBe(1);
    expect(await page.getByTestId('ttft-marker').getAttribute('title')).toBe('first token at 310 ms');
    expect(await labelsInside(page)).toEqual([]);

    // Fold the first step by keyboard, and unfold it.
    const toggle = row(page, 'agent_step').getByTestId('span-toggle');
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    await toggle.focus();
    await page.keyboard.press('Enter');
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    expect(await rowNames(page)).toEqual(['POST /v1/agents/{agent_id}/messages', 'agent_step', 'agent_step']);
    await page.keyboard.press('Space');
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    expect(await rowNames(page)).toEqual(all);
    // Arrow keys: Left folds the focused row's subtree, Right unfolds it.
    await row(page, 'agent_step').getByRole('button', { name: 'agent_step', exact: true }).focus();
    await page.keyboard.press('ArrowLeft');
    expect(await rowNames(page)).toHaveLength(3);
    await page.keyboard.press('ArrowRight');
    expect(await rowNames(page)).toEqual(all);

    // Search by attribute value: the match and its ancestors.
    await page.getByLabel('Search spans').fill('web_search');
    await expect.poll(() => rowNames(page)).toEqual(all.slice(0, 2).concat('LettaAgentV3._execute_tool'));
    expect(await page.getByTestId('search-count').textContent()).toBe('1 of 6 spans match');
    expect(await page.locator('.span-row.match').count()).toBe(1);
    await page.getByLabel('Search spans').fill('');
    await expect.poll(() => rowNames(page)).toEqual(all);

    // A click pins the span's details; they stay when the pointer moves on.
    await row(page, 'LettaAgentV3._execute_tool').getByRole('button', { name: 'LettaAgentV3._execute_tool' }).click();
    await row(page, 'agent_step', 1).hover();
    await page.mouse.move(5, 5);
    expect(await page.getByTestId('span-details').textContent()).toContain('tool.name');
    expect(await page.getByTestId('span-details').textContent()).toContain('web_search');
    await row(page, 'llm_request')
      .getByRole('button', { name: /llm_request/ })
      .click();
    expect(await page.getByTestId('llm-model').textContent()).toBe('gpt-4.1-2025-04-14');
    expect(await page.getByTestId('llm-tokens').textContent()).toBe('812 input · 64 output · 876 total');
    expect(await page.getByTestId('llm-cost').textContent()).toBe('$0.0031');
    // Beside the rows on a desktop.
    const details = await page.getByTestId('span-details').boundingBox();
    const rows = await page.getByTestId('waterfall-scroll').boundingBox();
    expect(details!.x).toBeGreaterThanOrEqual(rows!.x + rows!.width);
    await shot(page, 'trace-waterfall');

    // Zoom: the buttons halve the window, a drag on the axis picks one, reset restores the whole trace.
    await page.getByRole('button', { name: 'Zoom in' }).click();
    expect(await page.getByTestId('zoom-window').textContent()).toMatch(/ms – .* ms/);
    expect(await page.getByTestId('axis-tick').allTextContents()).not.toEqual(ticks);
    await page.getByRole('button', { name: 'Reset zoom' }).click();
    expect(await page.getByTestId('axis-tick').allTextContents()).toEqual(ticks);
    const axis = (await page.getByTestId('waterfall-axis').boundingBox())!;
    await page.mouse.move(axis.x + axis.width * 0.25, axis.y + axis.height / 2);
    await page.mouse.down();
    await page.mouse.move(axis.x + axis.width * 0.5, axis.y + axis.height / 2, { steps: 4 });
    await page.mouse.up();
    const window = (await page.getByTestId('zoom-window').textContent()) ?? '';
    const [from, to] = window.split('–').map((s) => Number.parseFloat(s));
    expect(from).toBeGreaterThan(250);
    expect(from).toBeLessThan(350);
    expect(to).toBeGreaterThan(550);
    expect(to).toBeLessThan(650);
    expect(await labelsInside(page)).toEqual([]);
    await shot(page, 'trace-waterfall-zoomed');
    await page.getByRole('button', { name: 'Reset zoom' }).click();

    await checkAtWidths(page, 'trace', async () => {
      await page.getByTestId('span-details').waitFor();
      // the bars are laid out again after the zoom reset and the resize (a frame or two later): wait for it
      await expect.poll(() => labelsInside(page)).toEqual([]);
    });
    // At phone width the waterfall scrolls inside its own panel, and the details come below the rows.
    await page.setViewportSize({ width: 390, height: 844 });
    const scroll = await page
      .getByTestId('waterfall-scroll')
      .evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    expect(scroll.scroll).toBeGreaterThan(scroll.client);
    const below = (await page.getByTestId('span-details').boundingBox())!;
    const panel = (await page.getByTestId('waterfall-scroll').boundingBox())!;
    expect(below.y).toBeGreaterThanOrEqual(panel.y + panel.height - 1);
    await page.setViewportSize({ width: 1400, height: 900 });
  });
});
