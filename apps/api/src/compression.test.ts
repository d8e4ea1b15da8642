/**
 * Compressed answers (compression.ts) on a real api over HTTP: brotli or gzip as `Accept-Encoding` prefers, on tRPC's
 * adapter, batches, errors, REST and /metrics; never on SSE (both streams still
 * deliver each event as it happens), HEAD, small answers, or with RUNTRACE_HTTP_COMPRESSION_MIN_BYTES=off.
 * Requests go through node:http, which (unlike fetch) neither asks for nor decodes a coding by itself.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { newId } from '@runtrace/core';
import type { Run } from '@runtrace/core/runs';
import { databaseTargets } from '@runtrace/core/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INLINE_MAX_BYTES, registerCompression } from './compression.ts';
import { type RestApi, startRestApi } from './rest/test-helpers.ts';
import { buildServer } from './server.ts';

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The bytes on the wire. */
  raw: Buffer;
  /** The body decoded by its content-encoding. */
  text: string;
}

function request(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, raw, text: decode(raw, res.headers) });
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

function decode(raw: Buffer, headers: http.IncomingHttpHeaders): string {
  const coding = headers['content-encoding'];
  if (coding === 'br') return brotliDecompressSync(raw).toString('utf8');
  if (coding === 'gzip') return gunzipSync(raw).toString('utf8');
  expect(coding).toBeUndefined();
  return raw.toString('utf8');
}

const varies = (res: RawResponse) => /(^|,)\s*accept-encoding\s*(,|$)/i.test(String(res.headers.vary ?? ''));

/** An SSE response read event by event: each `next()` resolves with the next complete frame. */
function openEvents(url: string, init: { method?: string; headers?: Record<string, string>; body?: string }) {
  let buffer = '';
  const frames: string[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  let response: http.IncomingMessage | undefined;
  const ready = new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      response = res;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          frames.push(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
        }
        wake?.();
      });
      res.on('end', () => {
        ended = true;
        wake?.();
      });
      resolve(res);
    });
    req.on('error', reject);
    req.end(init.body);
  });
  return {
    ready,
    get ended() {
      return ended;
    },
    /** The next frame that is not a ping, or null when the response ended first. */
    async next(timeoutMs = 5000): Promise<string | null> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (frames.length) {
          const frame = frames.shift() as string;
          if (!frame.startsWith('event: ping') && !frame.includes('"message_type":"ping"')) return frame;
        }
        if (ended) return null;
        if (Date.now() > deadline) throw new Error('no event in time');
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
        wake = null;
      }
    },
    close: () => response?.destroy(),
  };
}

describe('compressed answers', () => {
  const target = databaseTargets()[0];
  if (!target) throw new Error('no database target');
  let api: RestApi;
  /** The same runtime behind a server that compresses every answer, and one that compresses none. */
  let everything: FastifyInstance;
  let everythingUrl: string;
  let off: FastifyInstance;
  let offUrl: string;
  const agentId = newId('agent');

  const listen = async (minBytes: number | null) => {
    const app = await buildServer(api.rt, { compressionMinBytes: minBytes, streamKeepaliveMs: 200 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
  };

  beforeAll(async () => {
    api = await startRestApi(target);
    ({ app: everything, url: everythingUrl } = await listen(0));
    ({ app: off, url: offUrl } = await listen(null));
    for (let i = 0; i < 20; i++) {
      await api.mutate('runs.create', { agentId, metadata: { note: `run ${i} of the compression suite` } });
    }
  });
  afterAll(async () => {
    await everything?.close();
    await off?.close();
    await api?.close();
  });

  const listInput = encodeURIComponent(JSON.stringify({ limit: 20 }));
  /** A single query, as httpLink sends it. */
  const fastList = () => `${api.url}/trpc/runs.list?input=${listInput}`;
  const identityList = async () => {
    const res = await request(fastList());
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.raw.length).toBeGreaterThan(4096);
    return res.text;
  };

  it('sends brotli to a browser that accepts br, gzip to a client that takes gzip only; both decode to the same JSON', async () => {
    const plain = await identityList();
    const br = await request(fastList(), { headers: { 'accept-encoding': 'gzip, deflate, br, zstd' } });
    expect(br.status).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['content-type']).toMatch(/^application\/json/);
    expect(varies(br)).toBe(true);
    expect(Number(br.headers['content-length'])).toBe(br.raw.length);
    expect(br.raw.length).toBeLessThan(plain.length / 4);
    expect(br.text).toBe(plain);
    expect((JSON.parse(br.text) as { result: { data: { items: Run[] } } }).result.data.items).toHaveLength(20);

    const gzip = await request(fastList(), { headers: { 'accept-encoding': 'gzip' } });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(varies(gzip)).toBe(true);
    expect(gzip.text).toBe(plain);
  });

  it('follows the weights of Accept-Encoding: q-values, identity and *', async () => {
    const plain = await identityList();
    const codingFor = async (acceptEncoding: string) => {
      const res = await request(fastList(), { headers: { 'accept-encoding': acceptEncoding } });
      expect(res.status).toBe(200);
      expect(res.text).toBe(plain);
      expect(varies(res)).toBe(true);
      return res.headers['content-encoding'] ?? 'identity';
    };
    expect(await codingFor('br;q=0.5, gzip;q=0.9')).toBe('gzip');
    expect(await codingFor('gzip;q=0.2, br;q=0.3')).toBe('br');
    expect(await codingFor('gzip, br')).toBe('br'); // equal weights: the server's preference
    expect(await codingFor('br;q=0')).toBe('identity');
    expect(await codingFor('gzip;q=0.4, identity')).toBe('identity'); // identity weighs 1
    expect(await codingFor('identity')).toBe('identity');
    expect(await codingFor('deflate')).toBe('identity');
    expect(await codingFor('*')).toBe('br');
    expect(await codingFor('*;q=0.5, br;q=0, identity;q=0.1')).toBe('gzip');
    expect(await codingFor('identity;q=0, gzip;q=0.001')).toBe('gzip');
    expect(await codingFor('GZIP; Q=1.0')).toBe('gzip');
    expect(await codingFor('br;q=2, gzip;q=abc')).toBe('identity'); // malformed weights count as 0
  });

  it('leaves answers below the threshold as they are, still saying that they vary', async () => {
    const small = await request(`${api.url}/trpc/runs.list?input=${encodeURIComponent('{"limit":1}')}`, {
      headers: { 'accept-encoding': 'br, gzip' },
    });
    expect(small.status).toBe(200);
    expect(small.raw.length).toBeLessThan(1024);
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(varies(small)).toBe(true);
    const health = await request(`${api.url}/healthz`, { headers: { 'accept-encoding': 'br' } });
    expect(health.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(health.text)).toMatchObject({ status: 'ok' });

    // The same small answer, from a server whose threshold is 0.
    const tiny = await request(`${everythingUrl}/healthz`, { headers: { 'accept-encoding': 'br' } });
    expect(tiny.headers['content-encoding']).toBe('br');
    expect(JSON.parse(tiny.text)).toMatchObject({ status: 'ok' });
  });

  it('compresses nothing when switched off (RUNTRACE_HTTP_COMPRESSION_MIN_BYTES=off)', async () => {
    const plain = await identityList();
    const res = await request(`${offUrl}/trpc/runs.list?input=${listInput}`, {
      headers: { 'accept-encoding': 'br, gzip' },
    });
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(varies(res)).toBe(false);
    expect(res.text).toBe(plain);
  });

  it("compresses tRPC's adapter answers: batches of several calls and single calls outside the direct routes", async () => {
    const plain = JSON.parse(await identityList()) as { result: unknown };
    const batchUrl = `${api.url}/trpc/runs.list,agents.list?batch=1&input=${encodeURIComponent(
      JSON.stringify({ 0: { limit: 20 }, 1: {} }),
    )}`;
    const identity = await request(batchUrl);
    const batch = await request(batchUrl, { headers: { 'accept-encoding': 'br' } });
    expect(batch.status).toBe(200);
    expect(batch.headers['content-encoding']).toBe('br');
    expect(varies(batch)).toBe(true);
    expect(batch.headers.vary).toMatch(/trpc-accept/); // tRPC's own Vary is kept
    expect(batch.text).toBe(identity.text);
    const [list, agents] = JSON.parse(batch.text) as [{ result: unknown }, { result: { data: { items: unknown[] } } }];
    expect(list).toEqual(plain);
    expect(agents.result.data.items.length).toBeGreaterThan(0);

    // One call batched, and a mutation.
    const single = await request(
      `${api.url}/trpc/runs.list?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: { limit: 20 } }))}`,
      { headers: { 'accept-encoding': 'gzip' } },
    );
    expect(single.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(single.text)).toEqual([plain]);
    const created = await request(`${everythingUrl}/trpc/runs.create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip' },
      body: JSON.stringify({ agentId }),
    });
    expect(created.status).toBe(200);
    expect(created.headers['content-encoding']).toBe('gzip');
    expect((JSON.parse(created.text) as { result: { data: Run } }).result.data.agentId).toBe(agentId);
  });

  it("leaves tRPC's streamed batches (JSON lines, httpBatchStreamLink) as they are", async () => {
    const url = `${api.url}/trpc/runs.list,agents.list?batch=1&input=${encodeURIComponent(
      JSON.stringify({ 0: { limit: 20 }, 1: {} }),
    )}`;
    const streamed = await request(url, {
      headers: { 'accept-encoding': 'br, gzip', 'trpc-accept': 'application/jsonl' },
    });
    expect(streamed.status).toBe(200);
    expect(streamed.headers['transfer-encoding']).toBe('chunked');
    expect(streamed.headers['content-encoding']).toBeUndefined();
    expect(streamed.text.split('\n').filter(Boolean).length).toBeGreaterThan(1);
  });

  it('compresses error answers, which keep their status and tRPC error shape', async () => {
    const missing = newId('run');
    const adapter = await request(
      `${everythingUrl}/trpc/runs.retrieve?input=${encodeURIComponent(JSON.stringify({ runId: missing }))}`,
      {
        headers: { 'accept-encoding': 'br' },
      },
    );
    expect(adapter.status).toBe(404);
    expect(adapter.headers['content-encoding']).toBe('br');
    expect(JSON.parse(adapter.text)).toMatchObject({
      error: { code: -32004, data: { code: 'NOT_FOUND', httpStatus: 404, path: 'runs.retrieve' } },
    });

    const fast = await request(
      `${everythingUrl}/trpc/runs.list?batch=1&input=${encodeURIComponent('{"0":{"limit":-1}}')}`,
      {
        headers: { 'accept-encoding': 'gzip' },
      },
    );
    expect(fast.status).toBe(400);
    expect(fast.headers['content-encoding']).toBe('gzip');
    const [shape] = JSON.parse(fast.text) as [{ error: { data: { code: string; path: string; issues: unknown[] } } }];
    expect(shape.error.data).toMatchObject({ code: 'BAD_REQUEST', path: 'runs.list' });
    expect(shape.error.data.issues.length).toBeGreaterThan(0);

    const rest = await request(`${everythingUrl}/v1/runs/${missing}`, { headers: { 'accept-encoding': 'br' } });
    expect(rest.status).toBe(404);
    expect(rest.headers['content-encoding']).toBe('br');
    expect(JSON.parse(rest.text)).toHaveProperty('detail');
  });

  it('compresses REST lists, the OpenAPI document and /metrics', async () => {
    const runs = await request(`${api.url}/v1/runs/?limit=20`, { headers: { 'accept-encoding': 'gzip, br' } });
    expect(runs.status).toBe(200);
    expect(runs.headers['content-encoding']).toBe('br');
    expect((JSON.parse(runs.text) as unknown[]).length).toBe(20);
    const openapi = await request(`${api.url}/v1/openapi.json`, { headers: { 'accept-encoding': 'gzip' } });
    expect(openapi.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(openapi.text)).toHaveProperty('openapi');
    const metrics = await request(`${api.url}/metrics`, { headers: { 'accept-encoding': 'br' } });
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.headers['content-encoding']).toBe('br');
    expect(metrics.text).toContain('# HELP runtrace_http_request_duration_seconds');
  });

  it('answers HEAD without a coding', async () => {
    for (const url of [fastList(), `${api.url}/trpc/agents.list?input=%7B%7D`, `${api.url}/v1/runs/?limit=20`]) {
      const head = await request(url, { method: 'HEAD', headers: { 'accept-encoding': 'br, gzip' } });
      expect(head.status, url).toBeLessThan(300);
      expect(head.headers['content-encoding'], url).toBeUndefined();
      expect(head.raw.length).toBe(0);
    }
  });

  /** A background run with one event; the stream stays open until {@link end}. */
  async function liveRun() {
    const run = await api.mutate<Run>('runs.create', { agentId, background: true });
    const messageId = newId('message');
    const append = (content: string, end = false) =>
      api.mutate('runs.appendEvents', {
        runId: run.id,
        events: [
          { messageType: 'assistant_message', id: messageId, content },
          ...(end ? [{ messageType: 'stop_reason', stopReason: 'end_turn' }] : []),
        ],
        end,
      });
    await append(`first ${'x'.repeat(4000)}`);
    return { run, append };
  }

  it('never compresses a tRPC subscription: each event arrives while the stream is open', async () => {
    const { run, append } = await liveRun();
    const input = encodeURIComponent(JSON.stringify({ runId: run.id }));
    const stream = openEvents(`${everythingUrl}/trpc/runs.stream?input=${input}`, {
      headers: { 'accept-encoding': 'br, gzip', accept: 'text/event-stream' },
    });
    const res = await stream.ready;
    try {
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(res.headers['content-encoding']).toBeUndefined();
      expect(await stream.next()).toMatch(/^event: connected/);
      expect(await stream.next()).toContain('first xxx');
      // The second event is appended only now: it must come through on its own, before the stream ends.
      await append('second');
      const second = await stream.next();
      expect(second).toContain('"content":"second"');
      expect(stream.ended).toBe(false);
    } finally {
      stream.close();
      await append('end', true);
    }
  });

  it('never compresses the Letta REST stream: each event arrives while the stream is open', async () => {
    const { run, append } = await liveRun();
    const stream = openEvents(`${everythingUrl}/v1/runs/${run.id}/stream`, {
      method: 'POST',
      headers: { 'accept-encoding': 'gzip, br', 'content-type': 'application/json' },
      body: '{"include_pings":false}',
    });
    const res = await stream.ready;
    try {
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(res.headers['content-encoding']).toBeUndefined();
      expect(await stream.next()).toContain('first xxx');
      await append('second');
      expect(await stream.next()).toContain('"content":"second"');
      expect(stream.ended).toBe(false);
      await append('third', true);
      expect(await stream.next()).toContain('"content":"third"');
    } finally {
      stream.close();
    }
  });
});

describe('what compression leaves alone', () => {
  const big = JSON.stringify({ text: 'runtrace '.repeat(1000) });
  /** Beyond INLINE_MAX_BYTES: compressed on the thread pool. */
  const large = JSON.stringify(
    Array.from({ length: 6000 }, (_, i) => ({ i, id: newId('run'), at: new Date(i).toISOString() })),
  );
  let app: FastifyInstance;

  beforeAll(async () => {
    app = Fastify();
    registerCompression(app, { minBytes: 1024 });
    app.get('/json', (_request, reply) => reply.type('application/json').send(big));
    app.get('/encoded', (_request, reply) =>
      reply.type('application/json').header('content-encoding', 'gzip').send(big),
    );
    app.get('/stream', (_request, reply) => reply.type('application/json').send(Readable.from([big])));
    app.get('/events', (_request, reply) => reply.type('text/event-stream').send(`data: ${big}\n\n`));
    app.get('/protobuf', (_request, reply) => reply.type('application/x-protobuf').send(Buffer.from(big)));
    app.get('/not-modified', (_request, reply) => reply.code(304).type('application/json').send(big));
    app.get('/problem', (_request, reply) => reply.type('application/problem+json').send(big));
    app.get('/large', (_request, reply) => reply.type('application/json').send(large));
  });
  afterAll(async () => {
    await app?.close();
  });

  const get = (url: string) => app.inject({ method: 'GET', url, headers: { 'accept-encoding': 'br, gzip' } });

  it('compresses a buffered JSON answer (the control)', async () => {
    const res = await get('/json');
    expect(res.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(res.rawPayload).toString()).toBe(big);
    const problem = await get('/problem');
    expect(problem.headers['content-encoding']).toBe('br');
  });

  it('compresses bodies larger than the inline limit too (on the thread pool)', async () => {
    expect(Buffer.byteLength(large)).toBeGreaterThan(INLINE_MAX_BYTES);
    const br = await get('/large');
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.rawPayload).toString()).toBe(large);
    const gzip = await app.inject({ method: 'GET', url: '/large', headers: { 'accept-encoding': 'gzip' } });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.rawPayload).toString()).toBe(large);
  });

  it('sends already-encoded bodies, streams, event streams and other types as they are', async () => {
    const encoded = await get('/encoded');
    expect(encoded.headers['content-encoding']).toBe('gzip');
    expect(encoded.body).toBe(big); // the route's own claim, untouched: not compressed twice
    for (const url of ['/stream', '/events', '/protobuf']) {
      const res = await get(url);
      expect(res.headers['content-encoding'], url).toBeUndefined();
      expect(res.body, url).toContain(big);
    }
    expect((await get('/events')).headers.vary).toBeUndefined();
    const notModified = await get('/not-modified');
    expect(notModified.statusCode).toBe(304);
    expect(notModified.headers['content-encoding']).toBeUndefined();
  });
});
