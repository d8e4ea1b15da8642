/** Telemetry health in Chromium, and the error state of an unknown run. */
import { describe, expect, it } from 'vitest';
import { shot, useDashboard } from './harness.ts';

const dashboard = useDashboard();

describe('telemetry health', () => {
  it('shows telemetry health per backend, refreshing live, and error states', async () => {
    // At least one write of this organization before the page opens.
    await dashboard.producer.providerTraces.create.mutate({ requestJson: { n: 0 }, responseJson: { n: 0 } });
    const page = await dashboard.pageWithKey('#/health');
    const writesOk = page.locator('[data-testid=health-row][data-backend=postgres] [data-testid=writes-ok]');
    const before = Number(((await writesOk.textContent()) ?? '').replace(/\D+/g, ''));
    expect(before).toBeGreaterThanOrEqual(1);
    await dashboard.producer.providerTraces.create.mutate({ requestJson: { n: 1 }, responseJson: { n: 2 } });
    await expect
      .poll(async () => Number(((await writesOk.textContent()) ?? '').replace(/\D+/g, '')), { timeout: 10_000 })
      .toBe(before + 1);
    await shot(page, 'telemetry-health');

    await page.goto(`${dashboard.url}/#/runs/run-${crypto.randomUUID()}`);
    await expect.poll(() => page.getByTestId('error').textContent()).toContain('NOT_FOUND');
    await shot(page, 'run-not-found');
  });
});
