/** A run's trace waterfall in Chromium: spans exported over OTLP/HTTP under the trace id of its steps. */
import { describe, expect, it } from 'vitest';
import { exportRunTrace } from './fixtures.ts';
import { shot, useDashboard } from './harness.ts';

const dashboard = useDashboard();

describe('the trace waterfall', () => {
  it('draws the spans of the run under their parents, with first-token markers and span details', async () => {
    const run = await dashboard.producer.runs.create.mutate({ agentId: `agent-${crypto.randomUUID()}` });
    const traceId = crypto.randomUUID().replaceAll('-', '');
    await dashboard.producer.steps.create.mutate({
      runId: run.id,
      model: 'gpt-4.1',
      promptTokens: 812,
      completionTokens: 64,
      traceId,
    });
    const spans = await exportRunTrace(dashboard.apiUrl, dashboard.apiKey, traceId);
    await expect
      .poll(async () => (await dashboard.producer.runs.trace.query({ runId: run.id })).length, { timeout: 20_000 })
      .toBe(spans.length);

    const page = await dashboard.pageWithKey(`#/runs/${run.id}/trace`);
    await page.getByTestId('waterfall').waitFor();
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
