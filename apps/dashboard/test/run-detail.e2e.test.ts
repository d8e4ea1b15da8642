/** One run in Chromium: a step timeline (numbered steps with their messages, timings, cost, provider trace), back. */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { formatUsd } from '../src/lib/format.ts';
import { checkAtWidths, shot, useDashboard } from './harness.ts';

const dashboard = useDashboard();
const ms = (n: number) => String(n * 1_000_000);
const stepCards = (page: Page) => page.getByTestId('run-timeline').locator(':scope > [data-testid=step]');
const texts = (page: Page, selector: string) => page.locator(selector).allTextContents();

describe('a run', () => {
  it('shows a run as a step timeline: numbered steps in order with their messages, timings, cost, provider trace', async () => {
    const producer = dashboard.producer;
    const run = await producer.runs.create.mutate({ agentId: `agent-${crypto.randomUUID()}` });
    const at = (offset: number) => new Date(Date.parse(run.createdAt) + offset).toISOString();
    const step1 = await producer.steps.create.mutate({
      runId: run.id,
      model: 'gpt-4.1',
      providerName: 'openai',
      promptTokens: 812,
      completionTokens: 64,
      promptTokensDetails: { cached_tokens: 200 },
      status: 'success',
      llmRequestNs: ms(1200),
      toolExecutionNs: ms(350),
      stepNs: ms(1610),
    });
    const step2 = await producer.steps.create.mutate({
      runId: run.id,
      model: 'gpt-4.1',
      providerName: 'openai',
      promptTokens: 900,
      completionTokens: 20,
      status: 'success',
      llmRequestNs: ms(640),
      stepNs: ms(700),
    });
    expect(step1.costUsd).not.toBeNull();
    await producer.providerTraces.create.mutate({
      stepId: step1.id,
      runId: run.id,
      requestJson: { model: 'gpt-4.1', messages: [{ role: 'user', content: 'What is the weather in Lisbon?' }] },
      responseJson: { id: 'chatcmpl-1', choices: [{ message: { role: 'assistant', content: 'Sunny, 21 °C.' } }] },
    });
    await producer.messages.create.mutate({
      runId: run.id,
      messages: [
        { messageType: 'user_message', content: 'What is the weather in Lisbon?', date: at(3) },
        { messageType: 'reasoning_message', reasoning: 'Look it up.', stepId: step1.id, date: at(1234) },
        {
          messageType: 'tool_call_message',
          toolCall: { name: 'web_search', arguments: '{"q":"Lisbon weather"}', toolCallId: 'call-1' },
          stepId: step1.id,
          date: at(1240),
        },
        { messageType: 'assistant_message', content: 'Sunny, 21 °C.', stepId: step2.id, date: at(2051) },
      ],
    });
    // The producer's first token came 586 ms into its request; the run's recorded duration is 204 ms.
    await producer.runs.update.mutate({
      runId: run.id,
      stopReason: 'end_turn',
      ttftNs: ms(586),
      totalDurationNs: ms(204),
    });

    // Back link: the list, filtered, first; then the run; back returns to that very list.
    const page = await dashboard.pageWithKey('#/runs?status=completed');
    await page.getByTestId('run-row').first().waitFor();
    const listHash = await page.evaluate(() => location.hash);
    expect(listHash).toContain('status=completed');
    await page.goto(`${dashboard.url}/#/runs/${run.id}`);

    await expect.poll(() => stepCards(page).count()).toBe(2);
    expect(await stepCards(page).evaluateAll((els) => els.map((e) => [e.dataset.number, e.dataset.stepId]))).toEqual([
      ['1', step1.id],
      ['2', step2.id],
    ]);
    expect(await texts(page, '[data-testid=step] h3')).toEqual(['Step 1', 'Step 2']);
    // Messages under their step, the one of no step before the first.
    const seqs = (scope: string) =>
      page.locator(`${scope} [data-testid=message]`).evaluateAll((els) => els.map((e) => e.dataset.seq));
    expect(await seqs(`[data-step-id="${step1.id}"]`)).toEqual(['2', '3']);
    expect(await seqs(`[data-step-id="${step2.id}"]`)).toEqual(['4']);
    expect(await seqs('[data-testid=loose-messages]')).toEqual(['1']);
    expect(
      await page.locator('[data-testid=run-timeline] > li').evaluateAll((els) => els.map((e) => e.dataset.testid)),
    ).toEqual(['loose-messages', 'step', 'step']);

    // Per-step timings, TTFT on the step it belongs to, cost; relative times to the millisecond.
    const first = page.locator(`[data-testid=step][data-step-id="${step1.id}"]`);
    const second = page.locator(`[data-testid=step][data-step-id="${step2.id}"]`);
    expect(await first.getByTestId('step-ttft').textContent()).toBe('586 ms');
    expect(await second.getByTestId('step-ttft').textContent()).toBe('—');
    expect(await first.getByTestId('step-llm').textContent()).toBe('1.20 s');
    expect(await first.getByTestId('step-tool').textContent()).toBe('350 ms');
    expect(await second.getByTestId('step-tool').textContent()).toBe('—');
    expect(await first.getByTestId('step-duration').textContent()).toBe('1.61 s');
    expect(await first.getByTestId('step-cost').textContent()).toBe(formatUsd(step1.costUsd));
    expect(await first.getByTestId('step-tokens').textContent()).toBe('876');
    expect(await first.textContent()).toContain('cached input200');
    const offsets = await page.locator('[data-testid=message] [data-testid=offset]').allTextContents();
    expect(offsets).toEqual(['+0.003 s', '+1.234 s', '+1.240 s', '+2.051 s']);
    expect(await page.locator('[data-testid=message] [data-testid=offset]').nth(1).getAttribute('title')).toMatch(
      /\d[.,]\d{3}/,
    );

    // The summary at the top, with the cost; duration and TTFT explained, and their disagreement said.
    await expect.poll(() => page.getByTestId('usage').textContent()).toContain('1,796');
    const cost = (Number(step1.costUsd) + Number(step2.costUsd)).toFixed(12);
    expect(await page.getByTestId('run-cost').textContent()).toBe(formatUsd(cost));
    expect(await page.getByTestId('run-duration').textContent()).toBe('204 ms');
    expect(await page.getByTestId('run-duration').getAttribute('title')).toContain('run_metrics.run_ns');
    expect(await page.getByTestId('run-ttft').getAttribute('title')).toContain('producer');
    const durationTip = page.getByRole('button', { name: 'About the duration' });
    expect(await durationTip.getAttribute('aria-expanded')).toBe('false');
    await durationTip.click();
    expect(await durationTip.getAttribute('aria-expanded')).toBe('true');
    expect(await page.getByRole('note').filter({ hasText: 'run_metrics.run_ns' }).isVisible()).toBe(true);
    expect(await page.getByTestId('clock-note').textContent()).toContain('586 ms');

    // The provider trace opens under its step.
    await first.getByRole('button', { name: 'Provider trace' }).click();
    const tree = first.getByTestId('provider-trace');
    await expect.poll(() => tree.textContent()).toContain('"What is the weather in Lisbon?"');
    expect(await tree.textContent()).toContain('"Sunny, 21 °C."');

    // Kinds can be hidden.
    expect(await page.getByTestId('message').count()).toBe(4);
    await page.getByLabel(/reasoning \(1\)/).uncheck();
    expect(await page.getByTestId('message').count()).toBe(3);
    await page.getByLabel(/reasoning \(1\)/).check();

    await checkAtWidths(page, 'run-detail', async () => {
      await tree.waitFor();
      await page.evaluate(() => window.scrollTo(0, 0));
    });
    // The narrowest phone: step cards stack, the trace's JSON scrolls inside its panel, the page does not widen.
    await page.setViewportSize({ width: 360, height: 800 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await first.scrollIntoViewIfNeeded();
    await shot(page, 'run-detail-step-360');
    await page.setViewportSize({ width: 1400, height: 900 });

    await page.getByTestId('back-link').click();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe(listHash);
  });

  it('pages through a long run: steps load on demand and each brings its messages', async () => {
    const producer = dashboard.producer;
    const run = await producer.runs.create.mutate({ agentId: `agent-${crypto.randomUUID()}` });
    const steps: string[] = [];
    for (let i = 0; i < 105; i += 1) {
      const step = await producer.steps.create.mutate({ runId: run.id, model: 'gpt-4.1', status: 'success' });
      steps.push(step.id);
    }
    await producer.messages.create.mutate({
      runId: run.id,
      messages: steps.flatMap((stepId, i) => [
        { messageType: 'reasoning_message' as const, reasoning: `thinking ${i + 1}`, stepId },
        { messageType: 'assistant_message' as const, content: `answer ${i + 1}`, stepId },
      ]),
    });
    const page = await dashboard.pageWithKey(`#/runs/${run.id}`);
    await expect.poll(() => stepCards(page).count()).toBe(100);
    // The messages of the first page of steps are all there (they span two pages of messages).
    const last = page.locator('[data-testid=step][data-number="100"] [data-testid=message]');
    await expect.poll(() => last.count()).toBe(2);
    expect(await last.nth(1).textContent()).toContain('answer 100');
    await page.getByRole('button', { name: /Load more steps/ }).click();
    await expect.poll(() => stepCards(page).count()).toBe(105);
    const lastStep = page.locator('[data-testid=step][data-number="105"]');
    expect(await lastStep.getAttribute('data-step-id')).toBe(steps[104]);
    await expect.poll(() => lastStep.getByTestId('message').count()).toBe(2);
    expect(await page.getByTestId('message').count()).toBe(210);
    expect(await page.getByRole('button', { name: /Load more/ }).count()).toBe(0);
    await shot(page, 'run-detail-long');
  });
});
