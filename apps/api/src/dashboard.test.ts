import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDashboard } from './dashboard.ts';

describe('the dashboard files', () => {
  let root: string;
  let app: FastifyInstance;
  const script = Buffer.from(`console.log(${JSON.stringify('runtrace '.repeat(500))});\n`);

  beforeAll(async () => {
    // What `vite build` writes: index.html, and each asset with its .br and .gz beside it (vite.config.ts).
    root = mkdtempSync(path.join(os.tmpdir(), 'runtrace-dashboard-'));
    mkdirSync(path.join(root, 'assets'));
    writeFileSync(path.join(root, 'index.html'), '<!doctype html><script src="/assets/index-abc123.js"></script>');
    writeFileSync(path.join(root, 'assets', 'index-abc123.js'), script);
    writeFileSync(path.join(root, 'assets', 'index-abc123.js.br'), brotliCompressSync(script));
    writeFileSync(path.join(root, 'assets', 'index-abc123.js.gz'), gzipSync(script));
    writeFileSync(path.join(root, 'assets', 'plain-def456.css'), 'body{}');
    app = Fastify();
    await registerDashboard(app, { root });
  });
  afterAll(async () => {
    await app?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const get = (url: string, acceptEncoding?: string) =>
    app.inject({ method: 'GET', url, headers: acceptEncoding ? { 'accept-encoding': acceptEncoding } : {} });

  it('sends an asset brotli-compressed to a browser that accepts br, gzip to one that takes gzip only', async () => {
    const br = await get('/assets/index-abc123.js', 'gzip, deflate, br');
    expect(br.statusCode).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers.vary).toMatch(/accept-encoding/i);
    expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(brotliDecompressSync(br.rawPayload).equals(script)).toBe(true);
    expect(br.rawPayload.length).toBeLessThan(script.length / 10);

    const gzip = await get('/assets/index-abc123.js', 'gzip');
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.rawPayload).equals(script)).toBe(true);
  });

  it('sends the file as it is to a client that accepts no compression, or when the build wrote none', async () => {
    const plain = await get('/assets/index-abc123.js');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.rawPayload.equals(script)).toBe(true);
    const css = await get('/assets/plain-def456.css', 'br, gzip');
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-encoding']).toBeUndefined();
    expect(css.body).toBe('body{}');
  });

  it('has index.html revalidated at every load, so that a rebuild (new asset names) shows at once', async () => {
    for (const url of ['/', '/index.html']) {
      const page = await get(url, 'br, gzip');
      expect(page.statusCode, url).toBe(200);
      expect(page.headers['content-type'], url).toMatch(/^text\/html/);
      expect(page.headers['cache-control'], url).toBe('no-cache');
      expect(page.body, url).toContain('/assets/index-abc123.js');
    }
    const css = await get('/assets/plain-def456.css');
    expect(css.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });
});
