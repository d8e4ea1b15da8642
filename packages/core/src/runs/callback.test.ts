import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadApiConfig } from '../config.ts';
import { blockedRange, type CallbackOptions, postCallback } from './callback.ts';

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

  /**
   * Every IANA special-purpose range (v4 and v6) and every way of embedding an IPv4 address in an IPv6 one, as a
   * literal in the URL: refused before any connection, naming the range. Only global unicast is delivered.
   */
  const refused: [address: string, range: string][] = [
    // IPv4 (RFC 6890 and its updates)
    ['0.1.2.3', 'unspecified'],
    ['10.1.2.3', 'private'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['127.0.0.1', 'loopback'],
    ['169.254.169.254', 'linkLocal'],
    ['172.20.0.1', 'private'],
    ['192.0.0.9', 'reserved'],
    ['192.0.0.170', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['192.31.196.1', 'as112'],
    ['192.52.193.1', 'amt'],
    ['192.88.99.1', 'reserved'],
    ['192.168.1.1', 'private'],
    ['192.175.48.1', 'as112'],
    ['198.18.0.1', 'reserved'],
    ['198.19.255.254', 'reserved'],
    ['198.51.100.1', 'reserved'],
    ['203.0.113.1', 'reserved'],
    ['224.0.0.1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    // IPv6
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd00::1', 'uniqueLocal'],
    ['fec0::1', 'deprecatedSiteLocal'],
    ['ff02::1', 'multicast'],
    ['100::1', 'discard'],
    ['2001:2::1', 'benchmarking'],
    ['2001:3::1', 'amt'],
    ['2001:4:112::1', 'as112v6'],
    ['2620:4f:8000::1', 'as112v6'],
    ['2001:10::1', 'deprecatedOrchid'],
    ['2001:20::1', 'orchid2'],
    ['2001:db8::1', 'reserved'],
    ['5f00::1', 'segmentRouting'],
    // IPv4 inside IPv6: mapped (dotted and hex) is judged by its IPv4 address; every other embedding is refused
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:198.18.0.1', 'reserved'],
    ['::127.0.0.1', 'ipv4Compatible'],
    ['::7f00:1', 'ipv4Compatible'],
    ['::8.8.8.8', 'ipv4Compatible'],
    ['64:ff9b::7f00:1', 'rfc6052'],
    ['64:ff9b::a00:1', 'rfc6052'],
    ['64:ff9b::808:808', 'rfc6052'],
    ['64:ff9b:1::a00:1', 'rfc6052'],
    ['::ffff:0:7f00:1', 'rfc6145'],
    ['2002:7f00:1::1', '6to4'],
    ['2002:a00:1::1', '6to4'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'teredo'],
  ];
  const delivered = ['8.8.8.8', '1.1.1.1', '198.20.0.1', '2606:4700::1111', '2a00:1450:4001::1', '::ffff:8.8.8.8'];

  it.each(refused)('%s is refused (%s)', async (address, range) => {
    expect(blockedRange(address)).toBe(range);
    const url = new URL(`http://${address.includes(':') ? `[${address}]` : address}:${port}/x`);
    const result = await postCallback(url.href, { a: 1 });
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    expect(result).toMatchObject({
      statusCode: null,
      error: `refused: ${literal} is in a special-purpose range (${range})`,
    });
  });

  it.each(delivered)('%s is global unicast: allowed', (address) => {
    expect(blockedRange(address)).toBeNull();
  });

  it('checks every address a name resolves to and connects to the checked address, resolving once', async () => {
    const lookups: string[] = [];
    const resolve =
      (...addresses: string[]): CallbackOptions['resolve'] =>
      async (hostname) => {
        lookups.push(hostname);
        return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
      };
    const before = seen.length;
    // one private address among public ones is enough to refuse
    for (const addresses of [
      ['8.8.8.8', '198.18.0.1'],
      ['2606:4700::1111', '64:ff9b::a00:1'],
      ['::ffff:7f00:1'],
      ['1.1.1.1', '::8.8.8.8'],
      ['fe80::1%eth0'],
    ]) {
      const result = await postCallback(`http://hooks.example:${port}/x`, {}, { resolve: resolve(...addresses) });
      expect(result.statusCode).toBeNull();
      expect(result.error).toMatch(/^refused: hooks\.example resolves to .* in a special-purpose range/);
    }
    expect(seen.length).toBe(before);
    // allowed: the request goes to the address the check saw (the name is not resolved a second time)
    lookups.length = 0;
    const ok = await postCallback(
      `http://hooks.example:${port}/ok`,
      { b: 2 },
      { allowPrivate: true, resolve: resolve('127.0.0.1') },
    );
    expect(ok).toMatchObject({ statusCode: 204, error: null });
    expect(lookups).toEqual(['hooks.example']);
    expect(seen.at(-1)?.headers.host).toBe(`hooks.example:${port}`);
  });

  it.each([
    ['1', true],
    ['true', true],
    ['0', false],
    [undefined, false],
  ])('RUNTRACE_CALLBACK_ALLOW_PRIVATE=%s → loopback delivered: %s', async (value, allowed) => {
    const config = loadApiConfig({ RUNTRACE_CALLBACK_ALLOW_PRIVATE: value });
    const result = await postCallback(`http://127.0.0.1:${port}/ok`, {}, { allowPrivate: config.callbackAllowPrivate });
    expect(result.statusCode).toBe(allowed ? 204 : null);
    if (!allowed) expect(result.error).toMatch(/^refused: 127\.0\.0\.1 is in a special-purpose range \(loopback\)/);
  });

  it('refuses loopback addresses and names that resolve to them unless allowed', async () => {
    const before = seen.length;
    const literal = await postCallback(`http://127.0.0.1:${port}/x`, { a: 1 });
    expect(literal.statusCode).toBeNull();
    expect(literal.error).toMatch(/refused/);
    const named = await postCallback(`http://localhost:${port}/x`, { a: 1 });
    expect(named.statusCode).toBeNull();
    expect(named.error).toMatch(/refused/);
    expect(seen).toHaveLength(before);
  });

  it('signs the body with HMAC-SHA256 over "t.body" when a secret is set', async () => {
    const result = await postCallback(
      `http://127.0.0.1:${port}/ok`,
      { run_id: 'r' },
      { allowPrivate: true, secret: 's3cret' },
    );
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
