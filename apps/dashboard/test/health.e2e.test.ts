/** Telemetry health in Chromium, and the error state of an unknown run. */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { checkAtWidths, shot, useDashboard } from './harness.ts';
import { exportSpans, spanId } from './otlp-spans.ts';

const dashboard = useDashboard();

const count = async (page: Page, testId: string) =>
  Number(((await page.getByTestId(testId).first().textContent()) ?? '').replace(/\D+/g, ''));

describe('telemetry health', () => {
  it('shows an overall status, write latency and OTLP counters, refreshing live, and error states', async () => {
    // At least one write of this organization before the page opens.
    await dashboard.producer.providerTraces.create.mutate({ requestJson: { n: 0 }, responseJson: { n: 0 } });
    const page = await dashboard.pageWithKey('#/health');
    const postgres = page.locator('[data-testid=health-row][data-backend=postgres]');
    const writesOk = postgres.getByTestId('writes-ok');
    await writesOk.waitFor();
    const before = Number(((await writesOk.textContent()) ?? '').replace(/\D+/g, ''));
    expect(before).toBeGreaterThanOrEqual(1);
    // Latency of the writes so far, in words of time; the queue in bytes as people read them.
    expect(await postgres.getByTestId('latency-p50').textContent()).toMatch(/^[\d.]+ (µs|ms|s)$/);
    expect(await postgres.getByTestId('latency-p99').textContent()).toMatch(/^[\d.]+ (µs|ms|s)$/);
    expect(await postgres.getByTestId('queue').textContent()).toMatch(/^\d[\d,]* · [\d.]+ (B|KB|MB)$/);
    // Other files of the suite write to this organization too: whatever they did, its latest writes succeeded.
    expect(await page.getByTestId('health-status').getAttribute('data-level')).not.toBe('failing');
    expect(await page.getByTestId('health-status').textContent()).toMatch(/^(Healthy|Degraded)/);

    // A provider-trace write and an OTLP export (two spans and one refused) show up without a reload.
    const written = await count(page, 'otlp-written');
    const partial = await count(page, 'otlp-requests-partial');
    await dashboard.producer.providerTraces.create.mutate({ requestJson: { n: 1 }, responseJson: { n: 2 } });
    const traceId = crypto.randomUUID().replaceAll('-', '');
    const t0 = BigInt(Date.now()) * 1_000_000n;
    const root = spanId();
    await exportSpans(dashboard.apiUrl, dashboard.apiKey, traceId, t0, [
      { spanId: root, parentSpanId: '', name: 'POST /v1/agents/{agent_id}/messages', start: 0, end: 50 },
      { parentSpanId: root, name: 'agent_step', start: 5, end: 40 },
      // ends before it starts: refused, and reported with its reason
      { parentSpanId: root, name: 'agent_step', start: 30, end: 10 },
    ]);
    await expect.poll(() => count(page, 'otlp-written'), { timeout: 10_000 }).toBe(written + 2);
    await expect
      .poll(async () => Number(((await writesOk.textContent()) ?? '').replace(/\D+/g, '')), { timeout: 10_000 })
      .toBe(before + 1);
    expect(await count(page, 'otlp-requests-partial')).toBe(partial + 1);
    expect(await page.getByTestId('otlp-reasons').textContent()).toContain(
      'endTimeUnixNano is before startTimeUnixNano',
    );
    // A span refused a moment ago makes the status degraded, saying why.
    await expect.poll(() => page.getByTestId('health-status').getAttribute('data-level')).toBe('degraded');
    expect(await page.getByTestId('health-status').textContent()).toMatch(/OTLP: \d+ spans? refused for their data/);
    // Process-wide figures are labelled as such and name no organization.
    const server = (await page.getByTestId('otlp-server').textContent()) ?? '';
    expect(await page.locator('#otlp-server').textContent()).toContain('every organization; names none');
    expect(server).not.toMatch(/org-[0-9a-f-]{36}/);
    await shot(page, 'telemetry-health');

    await checkAtWidths(page, 'health', () => page.getByTestId('health-status').waitFor());
    // At phone width each backend is a card whose figures carry their labels.
    await page.setViewportSize({ width: 390, height: 844 });
    const label = await postgres
      .getByTestId('writes-ok')
      .evaluate((cell) => getComputedStyle(cell, '::before').content);
    expect(label).toBe('"writes ok"');
    await page.setViewportSize({ width: 1400, height: 900 });

    await page.goto(`${dashboard.url}/#/runs/run-${crypto.randomUUID()}`);
    await expect.poll(() => page.getByTestId('error').textContent()).toContain('NOT_FOUND');
    await shot(page, 'run-not-found');
  });
});
