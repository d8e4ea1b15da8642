/** One run in Chromium: usage, steps with their provider trace, messages. */
import { describe, expect, it } from 'vitest';
import { shot, useDashboard } from './harness.ts';

const dashboard = useDashboard();

describe('a run', () => {
  it('shows a run: usage, metrics, steps with their provider trace as a JSON tree, messages by kind', async () => {
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
  });
});
