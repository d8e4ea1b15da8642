/**
 * The api's one SSE writer (sse-writer.ts) on a real socket: headers (the reply's own, e.g. CORS, kept; never
 * transformed), pings while idle, a slow reader holding writes back until it drains, one frame broadcast to many
 * responses, frames shared by value, and an end that happens once.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharedFrames, SseWriter } from './sse-writer.ts';

describe('SseWriter', () => {
  let app: FastifyInstance;
  let url: string;
  const open = new Map<string, SseWriter>();

  beforeAll(async () => {
    app = Fastify();
    app.get('/sse/:name', (request, reply) => {
      const { name } = request.params as { name: string };
      const pingMs = Number((request.query as { ping?: string }).ping ?? 0);
      reply.header('access-control-allow-origin', 'https://dash.example.com');
      const writer = new SseWriter(reply, pingMs ? { ping: { intervalMs: pingMs, frame: () => ': ping\n\n' } } : {});
      open.set(name, writer);
      writer.signal.addEventListener('abort', () => open.delete(name));
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const writer of open.values()) writer.end();
    await app?.close();
  });

  const until = async (check: () => boolean) => {
    const deadline = Date.now() + 3000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  /** A client that collects what it reads (unless paused). */
  const connect = async (name: string, query = '') => {
    const received = {
      text: '',
      ended: false,
      headers: {} as http.IncomingHttpHeaders,
      res: null as http.IncomingMessage | null,
    };
    const req = http.get(`${url}/sse/${name}${query}`);
    req.on('response', (res) => {
      received.headers = res.headers;
      received.res = res;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        received.text += chunk;
      });
      res.on('end', () => {
        received.ended = true;
      });
    });
    req.on('error', () => {});
    await until(() => open.has(name) && received.res !== null);
    return { received, req, writer: open.get(name) as SseWriter };
  };

  it('sends the reply’s headers with the SSE ones at once, frames as written, and ends once', async () => {
    const { received, writer } = await connect('plain');
    expect(received.headers).toMatchObject({
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      'access-control-allow-origin': 'https://dash.example.com',
    });
    expect(received.headers['content-encoding']).toBeUndefined();
    await writer.write('data: 1\n\n');
    writer.end('data: last\n\n');
    writer.end('data: never\n\n');
    await writer.write('data: never\n\n');
    await until(() => received.ended);
    expect(received.text).toBe('data: 1\n\ndata: last\n\n');
    expect(writer.closed).toBe(true);
  });

  it('pings while nothing else is written, and not while frames flow', async () => {
    const { received, writer } = await connect('pinged', '?ping=40');
    await until(() => received.text.includes(': ping'));
    received.text = '';
    // Frames more often than the interval: no ping in between.
    for (let i = 0; i < 8; i++) {
      await writer.write(`data: ${i}\n\n`);
      await new Promise((r) => setTimeout(r, 15));
    }
    expect(received.text).not.toContain('ping');
    writer.end();
  });

  /** Writes big frames to a client that does not read until a write is held back; that write (boxed: not awaited). */
  const fillUntilHeld = async (writer: SseWriter): Promise<{ held: Promise<void> }> => {
    const frame = `data: ${'x'.repeat(64 * 1024)}\n\n`;
    for (let i = 0; i < 1000; i++) {
      let settled = false;
      const write = writer.write(frame).then(() => {
        settled = true;
      });
      await new Promise((r) => setImmediate(r));
      if (!settled) return { held: write };
    }
    throw new Error('every write was taken at once: no backpressure');
  };

  it('holds a write back while the client does not read, until it drains; a client that leaves releases it', async () => {
    const { received, writer, req } = await connect('slow');
    received.res?.pause();
    const { held } = await fillUntilHeld(writer);
    let drained = false;
    void held.then(() => {
      drained = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(drained).toBe(false);
    received.res?.resume();
    await until(() => drained);
    // Full again, then the client leaves: the write resolves, the signal aborts.
    received.res?.pause();
    const again = await fillUntilHeld(writer);
    req.destroy();
    await again.held;
    await until(() => writer.signal.aborted);
  });

  it('broadcasts one frame to every response', async () => {
    const clients = await Promise.all(['b1', 'b2', 'b3'].map((name) => connect(name)));
    await SseWriter.broadcast(
      'data: {"to":"all"}\n\n',
      clients.map((c) => c.writer),
    );
    await until(() => clients.every((c) => c.received.text === 'data: {"to":"all"}\n\n'));
    for (const c of clients) c.writer.end();
  });
});

describe('SharedFrames', () => {
  it('serializes a value once per key, whoever asks', () => {
    const frames = new SharedFrames();
    const event = { content: 'token' };
    let made = 0;
    const make = () => `data: ${JSON.stringify(event)}\nid: ${++made}\n\n`;
    const first = frames.frame(event, 'e:1', make);
    expect(frames.frame(event, 'e:1', make)).toBe(first);
    expect(made).toBe(1);
    expect(frames.frame(event, 'e:2', make)).not.toBe(first);
    expect(frames.frame({ ...event }, 'e:2', make)).toContain('id: 3');
    expect(frames.frame('a string', 'e:1', () => 'x')).toBe('x');
  });
});
