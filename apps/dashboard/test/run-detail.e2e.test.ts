/** One run in Chromium: usage, steps with their provider trace, messages, and its trace waterfall. */
import { describe, expect, it } from 'vitest';
import { exportRunTrace } from './fixtures.ts';
import { shot, useDashboard } from './harness.ts';

const dashboard = useDashboard();

describe('a run', () => {
  it('shows a run: usage, metrics, steps with their provider trace as a JSON tree, messages by kind; and its trace waterfall', async () => {
    const run = await dashboard.producer.runs.create.mutate({ agentId: `agent-${crypto.randomUUID()}` });
    const traceId = crypto.randomUUID().replaceAll('-', '');
    const step = await dashboard.producer.steps.create.mutate({
      runId: run.id,
      model: 'gpt-4.1',
      promptTokens: 812,
      completionTokens: 64,
      traceId,
    });
    await dashboard.producer.providerTraces.create.mutate({
      stepId: step.id,
      runId: run.id,
      requestJson: { model: 'gpt-4.1', messages: [{ role: 'user', content: 'What is the weather in Lisbon?' }] },
      responseJson: { id: 'chatcmpl-1', choices: [{ message: { role: 'assistant', content: 'Sunny, 21 °C.' } }] },
    });
    await dashboard.producer.messages.create.mutate({
      runId: run.id,
      messages: [
        { messageType: 'user_message', content: 'What is the weather in Lisbon?' },
        { messageType: 'reasoning_message', reasoning: 'Look it up.' },
        { messageType: 'assistant_message', content: 'Sunny, 21 °C.' },
      ],
    });
    await dashboard.producer.runs.update.mutate({ runId: run.id, stopReason: 'end_turn', ttftNs: '285000000' });
    const spans = await exportRunTrace(dashboard.apiUrl, dashboard.apiKey, traceId);
    await expect
      .poll(async () => (await dashboard.producer.runs.trace.query({ runId: run.id })).length, { timeout: 20_000 })
      .toBe(spans.length);

    const page = await dashboard.pageWithKey(`#/runs/${run.id}`);
    await expect.poll(() => page.getByTestId('usage').textContent()).toContain('876');
    await page.getByTestId('step-row').getByRole('button', { name: 'Provider trace' }).click();
    const tree = page.getByTestId('provider-trace');
    await expect.poll(() => tree.textContent()).toContain('"What is the weather in Lisbon?"');
    expect(await tree.textContent()).toContain('"Sunny, 21 °C."');
    expect(await page.getByTestId('message').count()).toBe(3);
    await page.getByLabel(/reasoning \(1\)/).uncheck();
    expect(await page.getByTestId('message').count()).toBe(2);
    await page.getByLabel(/reasoning \(1\)/).check();
    await shot(page, 'run-detail');

    await page.getByRole('link', { name: 'Trace', exact: true }).click();
    await page.getByTestId('waterfall').waitFor();
    const names = await page
      .getByTestId('span-row')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-span-name')));
    expect(names).toEqual([
      'POST /v1/agents/{agent_id}/messages',
      'agent_step',
      'time_to_first_token',
      'LettaAgentV3._execute_tool',
      'agent_step',
    ]);
    expect(await page.getByTestId('ttft-marker').count()).toBe(1);
    expect(await page.getByTestId('ttft-marker').getAttribute('title')).toBe('first token at 310 ms');
    await page.locator('[data-testid=span-row][data-span-name="LettaAgentV3._execute_tool"]').hover();
    await expect.poll(() => page.getByTestId('span-details').textContent()).toContain('tool.name');
    expect(await page.getByTestId('span-details').textContent()).toContain('web_search');
    await shot(page, 'trace-waterfall');
  });
});
