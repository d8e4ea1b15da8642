/** The Trace tab of an active run grows live (runs.traceUpdates): spans exported while it is open appear, no reload. */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { shot, useDashboard } from './harness.ts';
import { exportSpans, spanId } from './otlp-spans.ts';

const dashboard = useDashboard();

const rowNames = (page: Page) =>
  page.getByTestId('span-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-span-name')));

describe('the live trace waterfall', () => {
  it('draws spans posted to /v1/traces while the Trace tab of a running run is open, without a reload', async () => {
    const run = await dashboard.producer.runs.create.mutate({ agentId: `agent-${crypto.randomUUID()}` });
    await dashboard.producer.runs.update.mutate({ runId: run.id, status: 'running' });
    const traceId = crypto.randomUUID().replaceAll('-', '');
    await dashboard.producer.steps.create.mutate({ runId: run.id, traceId });
    const page = await dashboard.pageWithKey(`#/runs/${run.id}/trace`);
    await page.getByText('No spans for this run').waitFor();
    // Set on this document: a reload would lose it.
    await page.evaluate(() => {
      (window as unknown as { stillHere: boolean }).stillHere = true;
    });

    const t0 = BigInt(Date.now()) * 1_000_000n;
    const root = spanId();
    const step = spanId();
    await exportSpans(dashboard.apiUrl, dashboard.apiKey, traceId, t0, [
      { spanId: root, parentSpanId: '', name: 'POST /v1/agents/{agent_id}/messages', start: 0, end: 900 },
      { spanId: step, parentSpanId: root, name: 'agent_step', start: 10, end: 400 },
    ]);
    await expect
      .poll(() => rowNames(page), { timeout: 20_000 })
      .toEqual(['POST /v1/agents/{agent_id}/messages', 'agent_step']);

    // The step's LLM call and tool, then a second step: each export grows the waterfall, under its parent.
    await exportSpans(dashboard.apiUrl, dashboard.apiKey, traceId, t0, [
      {
        parentSpanId: step,
        name: 'llm_request',
        start: 20,
        end: 300,
        attrs: { 'gen_ai.request.model': 'gpt-4.1', 'gen_ai.usage.input_tokens': 40, 'gen_ai.usage.output_tokens': 8 },
      },
      { parentSpanId: step, name: 'ToolExecutor._execute_tool', start: 310, end: 390 },
      { parentSpanId: step, name: 'http.client', start: 320, end: 330 },
    ]);
    await exportSpans(dashboard.apiUrl, dashboard.apiKey, traceId, t0, [
      { parentSpanId: root, name: 'agent_step', start: 450, end: 1400 },
    ]);
    const all = [
      'POST /v1/agents/{agent_id}/messages',
      'agent_step',
      'llm_request',
      'ToolExecutor._execute_tool',
      'agent_step',
    ];
    await expect.poll(() => rowNames(page), { timeout: 20_000 }).toEqual(all);
    // What a fresh read of the trace draws, and on the same document.
    expect(
      (await dashboard.producer.runs.trace.query({ runId: run.id, llmSpans: true })).map((s) => s.spanName),
    ).toEqual(all);
    expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
    // The axis follows the trace as it grows (the second step ends at 1.4 s, past the first export's 0.9 s).
    const ticks = await page.getByTestId('axis-tick').allTextContents();
    expect(ticks.at(-1)).toMatch(/^1\.\d\d s$/);
    expect(await page.getByTestId('search-count').textContent()).toBe('5 spans');
    await shot(page, 'trace-live');
  });
});
