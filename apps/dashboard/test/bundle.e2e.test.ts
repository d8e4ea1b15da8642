/** The dashboard's build: its size budget, and the pre-compressed files the api sends. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { describe, expect, inject, it } from 'vitest';
import { DASHBOARD_DIR } from './fixtures.ts';
import { recordBudgets } from './harness.ts';

const BUDGET = { bundleGzipKb: 300 };

describe('the dashboard build', () => {
  it(`ships at most ${BUDGET.bundleGzipKb} KB of gzipped JavaScript`, () => {
    const bundleGzipKb = inject('bundleGzipKb');
    recordBudgets({ bundleGzipKb });
    expect(bundleGzipKb).toBeGreaterThan(10);
    expect(bundleGzipKb).toBeLessThanOrEqual(BUDGET.bundleGzipKb);
  });

  it('ships each script pre-compressed, brotli and gzip, for the api to send as browsers accept', () => {
    const assets = path.join(DASHBOARD_DIR, 'dist', 'assets');
    const scripts = readdirSync(assets).filter((name) => name.endsWith('.js'));
    expect(scripts.length).toBeGreaterThan(0);
    for (const name of scripts) {
      const original = readFileSync(path.join(assets, name));
      expect(brotliDecompressSync(readFileSync(path.join(assets, `${name}.br`))).equals(original)).toBe(true);
      expect(gunzipSync(readFileSync(path.join(assets, `${name}.gz`))).equals(original)).toBe(true);
    }
  });
});
