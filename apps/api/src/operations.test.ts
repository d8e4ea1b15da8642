/**
 * The api as an operator runs it: browsers held to their origin (CORS), /metrics out of tenants' reach, readiness,
 * and requests that cannot hold the server: slow senders are cut off, concurrent bodies share one memory budget.
 */
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import {
  createTestRuntime,
  type DatabaseTarget,
  databaseTargets,
  PrivateRedis,
  type TestRuntime,
} from '@runtrace/core/testing';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildServer } from './server.ts';

const target = databaseTargets()[0] as DatabaseTarget; // PGlite: these are HTTP-level behaviours, the same on either driver

let opened: { rt: TestRuntime; app: FastifyInstance }[] = [];
afterEach(async () => {
  for (const { rt, app } of opened) {
    await app.close();
    await rt.dispose();
  }
  opened = [];
});

async function serve(env: Record<string, string> = {}): Promise<{ url: string; port: number; rt: TestRuntime }> {
  // No NODE_ENV: the api runs as in production unless development is asked for.
  const rt = await createTestRuntime(target, env);
  const app = await buildServer(rt);
  opened.push({ rt, app });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, port, rt };
}

async function freePort(): Promise<number> {
  return await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A raw HTTP/1.1 request: sends `head`, then resolves with whatever the server answered once it closes or answers. */
function rawSocket(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (d) => {
    received += d.toString('latin1');
  });
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  return { socket, closed, received: () => received };
}

describe('browsers: same origin only, unless RUNTRACE_CORS_ORIGINS allows more', () => {
  const evil = 'https://evil.example';

  it("refuses another origin's simple request and preflight (DELETE with authorization), keeping Vary: Origin", async () => {
    const { url } = await serve();
    const simple = await fetch(`${url}/trpc/runs.list`, { headers: { origin: evil } });
    expect(simple.status).toBe(403);
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
    expect(simple.headers.get('vary') ?? '').toMatch(/origin/i);
    // A form-encodable POST a page can send without a preflight must not run either.
    const post = await fetch(`${url}/trpc/runs.create`, {
      method: 'POST',
      headers: { origin: evil, 'content-type': 'text/plain' },
      body: JSON.stringify({ agentId: 'agent-00000000-0000-4000-8000-00000000000a' }),
    });
    expect(post.status).toBe(403);
    const preflight = await fetch(`${url}/v1/runs/run-00000000-0000-4000-8000-000000000001`, {
      method: 'OPTIONS',
      headers: {
        origin: evil,
        'access-control-request-method': 'DELETE',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-methods')).toBeNull();
  });

  it('serves its own origin (the dashboard) and the configured ones', async () => {
    const allowed = 'https://dash.example.com';
    const { url } = await serve({ RUNTRACE_CORS_ORIGINS: `${allowed}, http://localhost:5173` });
    const same = await fetch(`${url}/trpc/runs.list`, { headers: { origin: url } });
    expect(same.status).toBe(200);
    const simple = await fetch(`${url}/trpc/runs.list`, { headers: { origin: allowed } });
    expect(simple.status).toBe(200);
    expect(simple.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(simple.headers.get('vary') ?? '').toMatch(/origin/i);
    const preflight = await fetch(`${url}/trpc/runs.delete`, {
      method: 'OPTIONS',
      headers: {
        origin: allowed,
        'access-control-request-method': 'DELETE',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(allowed);
    expect((preflight.headers.get('access-control-allow-headers') ?? '').toLowerCase()).toContain('authorization');
    const other = await fetch(`${url}/trpc/runs.list`, { headers: { origin: evil } });
    expect(other.status).toBe(403);
  });
});

describe("/metrics (every organization's counters)", () => {
  it('is on the main port while auth is optional and RUNTRACE_METRICS_PORT is unset', async () => {
    const { url } = await serve();
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('# TYPE');
  });

  it('under RUNTRACE_AUTH=required: not on the main port (no key opens it), on RUNTRACE_METRICS_PORT at 127.0.0.1', async () => {
    const metricsPort = await freePort();
    const { url } = await serve({ RUNTRACE_AUTH: 'required', RUNTRACE_METRICS_PORT: String(metricsPort) });
    const main = await fetch(`${url}/metrics`);
    expect(main.status).toBe(404);
    expect(await main.text()).not.toContain('# TYPE');
    const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain('# TYPE');
  });

  it('has request-duration series per tRPC procedure and REST route pattern, bounded; default metrics; subscribers', async () => {
    const { url } = await serve();
    const series = async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return text.split('\n').filter((line) => line.startsWith('runtrace_http_request_duration_seconds_count'));
    };
    expect((await fetch(`${url}/trpc/runs.list`)).status).toBe(200);
    const agentId = 'agent-00000000-0000-4000-8000-00000000000a';
    expect((await fetch(`${url}/v1/runs/run-00000000-0000-4000-8000-000000000001`)).status).toBe(404);
    expect((await fetch(`${url}/v1/runs/run-00000000-0000-4000-8000-000000000002`)).status).toBe(404);
    expect(
      (
        await fetch(`${url}/trpc/runs.create`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"agentId":1}',
        })
      ).status,
    ).toBe(400);
    for (const i of [1, 2, 3]) {
      await fetch(`${url}/no/such/page-${i}-${agentId}`, { method: 'DELETE' });
      await fetch(`${url}/trpc/no.such.procedure${i}`);
    }
    const lines = await series();
    expect(lines).toContain(
      'runtrace_http_request_duration_seconds_count{route="/trpc/runs.list",method="GET",status_class="2xx"} 1',
    );
    expect(lines).toContain(
      'runtrace_http_request_duration_seconds_count{route="/v1/runs/:run_id",method="GET",status_class="4xx"} 2',
    );
    expect(lines).toContain(
      'runtrace_http_request_duration_seconds_count{route="/trpc/runs.create",method="POST",status_class="4xx"} 1',
    );
    expect(lines).toContain(
      'runtrace_http_request_duration_seconds_count{route="/trpc/(unknown)",method="GET",status_class="4xx"} 3',
    );
    // Neither the unknown URLs nor any id became a label value: one series each for the six requests.
    const joined = lines.join('\n');
    expect(joined).not.toMatch(/page-|no\.such|run-0000|agent-0000/);
    expect(lines.filter((l) => l.includes('method="DELETE"'))).toHaveLength(1);
    // Node's process and runtime metrics, under prom-client's standard names.
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);

    const controller = new AbortController();
    const sse = await fetch(`${url}/trpc/runs.changes?input=${encodeURIComponent('{}')}`, {
      headers: { accept: 'text/event-stream' },
      signal: controller.signal,
    });
    await (sse.body as ReadableStream<Uint8Array>).getReader().read(); // connected
    expect(await (await fetch(`${url}/metrics`)).text()).toContain(
      'runtrace_stream_subscribers{kind="trpc:runs.changes"} 1',
    );
    controller.abort();
    await expect
      .poll(async () => (await fetch(`${url}/metrics`)).text())
      .not.toContain('runtrace_stream_subscribers{kind="trpc:runs.changes"} 1');
    // The SSE response, however long it lasted, is not a request duration.
    expect((await series()).join('\n')).not.toContain('runs.changes');
  });

  it('under RUNTRACE_AUTH=required without a metrics port: nowhere, and the 404 names the setting', async () => {
    const { url } = await serve({ RUNTRACE_AUTH: 'required' });
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('RUNTRACE_METRICS_PORT');
  });
});

describe('production by default (NODE_ENV unset)', () => {
  it('answers an internal error without stack or internal detail; NODE_ENV=development adds the stack', async () => {
    const internalError = async (url: string, rt: TestRuntime) => {
      // A bug's stand-in: the query fails in a way no error mapping knows (relation does not exist).
      await rt.database.db.execute('drop table runs cascade');
      const trpc = await fetch(`${url}/trpc/runs.list`);
      const rest = await fetch(`${url}/v1/runs`);
      return {
        trpc: { status: trpc.status, body: await trpc.text() },
        rest: { status: rest.status, body: await rest.text() },
      };
    };
    const production = await serve();
    expect(production.rt.config.nodeEnv).toBe('production');
    const { trpc, rest } = await internalError(production.url, production.rt);
    expect(trpc.status).toBe(500);
    expect(JSON.parse(trpc.body).error.message).toBe('Internal server error');
    expect(rest).toEqual({ status: 500, body: JSON.stringify({ detail: 'An unknown error occurred' }) });
    for (const body of [trpc.body, rest.body]) {
      expect(body).not.toContain('stack');
      expect(body).not.toMatch(/\bat \S+ \(|relation|does not exist|select /i);
    }
    const development = await serve({ NODE_ENV: 'development' });
    const dev = await internalError(development.url, development.rt);
    expect(dev.trpc.status).toBe(500);
    expect(JSON.parse(dev.trpc.body).error.data.stack).toContain('at ');
  });
});

describe('/readyz and /healthz', () => {
  it('is ready when the stores answer and migrations are applied; 503 when one is pending; /healthz stays 200', async () => {
    const { url, rt } = await serve();
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { postgres: 'ok' } });
    await rt.database.db.execute(
      'delete from runtrace_migrations where hash = (select max(hash) from runtrace_migrations)',
    );
    const pending = await fetch(`${url}/readyz`);
    expect(pending.status).toBe(503);
    expect(pending.headers.get('retry-after')).toBeTruthy();
    expect(await pending.json()).toEqual({ status: 'unavailable', checks: { postgres: 'migrations pending' } });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});

describe('/readyz covers every configured store', () => {
  // A redis-server of its own (stopped here), never the shared one: it must be on PATH, as in CI.
  it('Redis when REDIS_URL is set, ClickHouse (and its migrations) unless off; each failure names its store', {
    timeout: 60_000,
  }, async () => {
    const redis = await PrivateRedis.create();
    try {
      const { url, rt } = await serve({ REDIS_URL: redis.url, CLICKHOUSE_URL: 'chdb:memory' });
      const ready = await fetch(`${url}/readyz`);
      expect([ready.status, await ready.json()]).toEqual([
        200,
        { status: 'ready', checks: { postgres: 'ok', redis: 'ok', clickhouse: 'ok' } },
      ]);
      const ch = rt.clickhouse!;
      await ch.client.command({ query: `TRUNCATE TABLE \`${ch.database}\`.runtrace_migrations` });
      await redis.stop();
      const down = await fetch(`${url}/readyz`);
      expect([down.status, await down.json()]).toEqual([
        503,
        { status: 'unavailable', checks: { postgres: 'ok', redis: 'unavailable', clickhouse: 'migrations pending' } },
      ]);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      await redis.start(); // so that the runtime closes its connections at once
    } finally {
      await redis.dispose();
    }
  });
});

describe('requests cannot hold the server', () => {
  it('closes a client that sends its body a few bytes per second, within RUNTRACE_REQUEST_TIMEOUT_MS', async () => {
    const { port } = await serve({ RUNTRACE_REQUEST_TIMEOUT_MS: '1500' });
    const slow = Array.from({ length: 3 }, () => rawSocket(port));
    const started = Date.now();
    for (const { socket } of slow) {
      socket.write(
        `POST /trpc/runs.create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`,
      );
    }
    const drip = setInterval(() => {
      for (const { socket } of slow) if (!socket.destroyed) socket.write(' ');
    }, 250);
    try {
      const closedAt = await Promise.race([
        Promise.all(slow.map((s) => s.closed)),
        new Promise<null>((resolve) => setTimeout(() => resolve(null), 8000)),
      ]);
      expect(closedAt, 'slow senders still connected after 8 s').not.toBeNull();
      for (const at of closedAt ?? []) expect(at - started).toBeLessThan(1500 + 3000);
    } finally {
      clearInterval(drip);
      for (const { socket } of slow) socket.destroy();
    }
  });

  it('keeps a subscription (SSE) open past the request timeout: the timeout is for receiving the request', async () => {
    const { url } = await serve({ RUNTRACE_REQUEST_TIMEOUT_MS: '1000' });
    const controller = new AbortController();
    const res = await fetch(`${url}/trpc/runs.changes?input=${encodeURIComponent('{}')}`, {
      headers: { accept: 'text/event-stream' },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // connected
    const ended = await Promise.race([
      (async () => {
        for (;;) if ((await reader.read()).done) return true;
      })().catch(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 3500)),
    ]);
    expect(ended).toBe(false);
    controller.abort();
  });

  it('refuses bodies beyond the in-flight budget with 503 + Retry-After (tRPC and OTLP), and admits them again after', async () => {
    const { port, url } = await serve({ RUNTRACE_BODY_BUDGET_BYTES: String(1024 * 1024) });
    const size = 700 * 1024;
    const holder = rawSocket(port);
    holder.socket.write(
      `POST /trpc/providerTraces.create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n{"x":"`,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const body = JSON.stringify({ pad: 'y'.repeat(size - 20) });
    const trpc = await fetch(`${url}/trpc/providerTraces.create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(trpc.status).toBe(503);
    expect(trpc.headers.get('retry-after')).toBeTruthy();
    expect(JSON.stringify(await trpc.json())).toContain('SERVICE_UNAVAILABLE');
    const otlp = await fetch(`${url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(otlp.status).toBe(503);
    expect(otlp.headers.get('retry-after')).toBeTruthy();
    holder.socket.destroy();
    await holder.closed;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const after = await fetch(`${url}/trpc/runs.list`, { method: 'GET' });
    expect(after.status).toBe(200);
    // (ClickHouse is off here: 501 means the body was admitted and reached the route.)
    const otlpAfter = await fetch(`${url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(otlpAfter.status).toBe(501);
  });
});
