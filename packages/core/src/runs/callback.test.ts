import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPrivateAddress, postCallback } from './callback.ts';

describe('run callbacks', () => {
  let server: http.Server;
  let port: number;
  const seen: { body: string; headers: http.IncomingHttpHeaders }[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        seen.push({ body, headers: req.headers });
        if (req.url === '/slow') return; // never answers
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });

  it.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.20.0.1', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['::1', true],
    ['fd00::1', true],
    ['::ffff:127.0.0.1', true],
    ['8.8.8.8', false],
    ['2606:4700::1111', false],
  ])('%s is private: %s', (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });

  it('refuses loopback addresses and names that resolve to them unless allowed', async () => {
    const literal = await postCallback(`http://127.0.0.1:${port}/x`, { a: 1 });
    expect(literal.statusCode).toBeNull();
    expect(literal.error).toMatch(/refused/);
    const named = await postCallback(`http://localhost:${port}/x`, { a: 1 });
    expect(named.statusCode).toBeNull();
    expect(named.error).toMatch(/refused/);
    expect(seen).toHaveLength(0);
  });

  it('signs the body with HMAC-SHA256 over "t.body" when a secret is set', async () => {
    const result = await postCallback(`http://127.0.0.1:${port}/ok`, { run_id: 'r' }, { allowPrivate: true, secret: 's3cret' });
    expect(result).toMatchObject({ statusCode: 204, error: null });
    const last = seen.at(-1);
    const header = String(last?.headers['x-runtrace-signature']);
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header) ?? [];
    expect(v1).toBe(createHmac('sha256', 's3cret').update(`${t}.${last?.body}`).digest('hex'));
    expect(JSON.parse(String(last?.body))).toEqual({ run_id: 'r' });
  });

  it('gives up after the timeout', async () => {
    const started = Date.now();
    const result = await postCallback(`http://127.0.0.1:${port}/slow`, {}, { allowPrivate: true, timeoutMs: 200 });
    expect(result.error).toMatch(/timed out/);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
