/**
 * What every browser test file shares: Chromium, a TCP proxy to the suite's api that can cut every connection, pages
 * that carry the e2e organization's key, screenshots at desktop and phone width, the axe-core check, and the budgets
 * file (test-results/budgets.json, one object for the whole suite).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createRuntraceClient, type RuntraceClient } from '@runtrace/client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { launchChromium, newContext } from './browser.ts';
import { RESULTS, SCREENSHOTS } from './global-setup.ts';
import { type DroppingProxy, startDroppingProxy } from './proxy.ts';

/** The widths every page is checked and photographed at: a desktop, and a phone. */
export const WIDTHS = { desktop: 1400, phone: 390 } as const;

const AXE_SCRIPT = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export interface Dashboard {
  apiUrl: string;
  apiKey: string;
  /** The suite's api through the proxy (what pages load, so `proxy.dropAll()` reaches them). */
  url: string;
  proxy: DroppingProxy;
  browser: Browser;
  /** The e2e organization, as a service writing runs would use it. */
  producer: RuntraceClient;
  /** A fresh context (no cache) at desktop width. */
  newPage(): Promise<Page>;
  /** A page whose context carries the e2e organization's key, entered once through the dashboard's own form. */
  pageWithKey(hash: string): Promise<Page>;
}

declare global {
  interface Window {
    axe: { run(context: Document, options: unknown): Promise<{ violations: AxeViolation[] }> };
  }
}

export interface AxeViolation {
  id: string;
  impact: 'minor' | 'moderate' | 'serious' | 'critical' | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** Starts Chromium and a proxy for this file (closed after it); the api is the suite's (global-setup.ts). */
export function useDashboard(): Dashboard {
  const contexts: BrowserContext[] = [];
  const dashboard = {
    apiUrl: inject('apiUrl'),
    apiKey: inject('apiKey'),
    producer: createRuntraceClient({ url: inject('apiUrl'), apiKey: inject('apiKey') }),
  } as Dashboard;
  dashboard.newPage = async () => {
    const context = await newContext(dashboard.browser);
    contexts.push(context);
    return await context.newPage();
  };
  dashboard.pageWithKey = async (hash: string) => {
    const page = await dashboard.newPage();
    await page.goto(`${dashboard.url}/#/health`);
    if (!((await page.getByTestId('apikey').textContent()) ?? '').includes('API key rt_')) {
      await page.getByRole('button', { name: 'Enter API key' }).click();
      await page.getByLabel('API key').fill(dashboard.apiKey);
      await page.getByRole('button', { name: 'Save key' }).click();
      await page.getByTestId('apikey').getByText('API key rt_').waitFor();
    }
    await page.goto(`${dashboard.url}/${hash}`);
    return page;
  };
  beforeAll(async () => {
    dashboard.proxy = await startDroppingProxy(Number(new URL(dashboard.apiUrl).port));
    dashboard.url = dashboard.proxy.url;
    dashboard.browser = await launchChromium();
  });
  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await dashboard.browser?.close();
    await dashboard.proxy?.close();
  });
  return dashboard;
}

/** A screenshot of the viewport, as test-results/screenshots/<name>.png. */
export async function shot(page: Page, name: string): Promise<string> {
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

/**
 * The page at desktop and at phone width: at each, a screenshot (`<name>-1400.png`, `<name>-390.png`), no horizontal
 * overflow of the page itself (wide content scrolls inside its own panel), and no serious or critical axe-core
 * violation. `ready` waits for what must be drawn after the resize. The viewport is left at desktop width.
 */
export async function checkAtWidths(page: Page, name: string, ready?: () => Promise<unknown>): Promise<void> {
  for (const width of [WIDTHS.desktop, WIDTHS.phone]) {
    await page.setViewportSize({ width, height: width === WIDTHS.phone ? 844 : 900 });
    await ready?.();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${name} at ${width} px is wider than the viewport by ${overflow} px`).toBeLessThanOrEqual(0);
    await shot(page, `${name}-${width}`);
    expect(await seriousAxeViolations(page), `axe-core on ${name} at ${width} px`).toEqual([]);
  }
  await page.setViewportSize({ width: WIDTHS.desktop, height: 900 });
}

/** axe-core's WCAG 2 A/AA rules on the page as drawn now: the serious and critical violations, one line each. */
export async function seriousAxeViolations(page: Page): Promise<string[]> {
  const loaded = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!loaded) await page.addScriptTag({ content: readFileSync(AXE_SCRIPT, 'utf8') });
  const { violations } = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Adds measured budgets to test-results/budgets.json (shared by the suite's files, which run one at a time). */
export function recordBudgets(figures: Record<string, number>): void {
  const file = path.join(RESULTS, 'budgets.json');
  const all = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>) : {};
  Object.assign(all, figures);
  writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
  console.log(`dashboard budgets: ${JSON.stringify(figures)}`);
}

export const attr = (page: Page, testId: string, name: string) => page.getByTestId(testId).getAttribute(name);
