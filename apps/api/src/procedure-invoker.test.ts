/**
 * The invoker behind the direct routes (fast-calls.ts) and the SSE subscriptions (sse.ts), against tRPC's own
 * fastify handler mounted beside them on the same router: the same answers for queries and subscriptions in every
 * shape (success, bad input, a bug, tracked values, a resumed stream); a client that disconnects aborts the
 * procedure's `ctx.signal` while it is still working; and an internal error of the real server (its database lost a
 * table) is logged exactly once, whichever route the call took.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_ACTOR, newId } from '@runtrace/core';
import { createTestRuntime, databaseTargets, type TestRuntime } from '@runtrace/core/testing';
import { tracked } from '@trpc/server';
import { fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Context } from './context.ts';
import { registerFastCalls } from './fast-calls.ts';
import { ProcedureInvoker } from './procedure-invoker.ts';
import { buildServer } from './server.ts';
import { registerSubscriptionRoutes } from './sse.ts';
import { Subscriptions } from './subscriptions.ts';
import { publicProcedure, router, SSE_OPTIONS } from './trpc.ts';

const q = (value: unknown) => encodeURIComponent(JSON.stringify(value));

describe.each(databaseTargets())('procedure invoker against tRPC’s handler ($name)', (target) => {
  let runtime: TestRuntime;
  let app: FastifyInstance;
  let url: string;
  /** What the slow query's `ctx.signal` said, per call id. */
  const slow = new Map<string, { started: boolean; aborted: boolean }>();

  // Real middlewares (trpc.ts: auth, error mapping, storable input); procedures a test needs to watch or fail.
  const testRouter = router({
    echo: publicProcedure.input(z.strictObject({ n: z.int().min(0) })).query(({ input }) => ({ n: input.n })),
    bump: publicProcedure.input(z.strictObject({ n: z.int().min(0) })).mutation(({ input }) => ({ n: input.n + 1 })),
    bug: publicProcedure.query(() => {
      throw new Error('a bug');
    }),
    /** Waits for its client to leave (ctx.signal), as a long database call would. */
    slow: publicProcedure.input(z.strictObject({ id: z.string() })).query(
      ({ input, ctx }) =>
        new Promise<string>((resolve) => {
          const seen = { started: true, aborted: false };
          slow.set(input.id, seen);
          const done = () => {
            seen.aborted = ctx.signal.aborted;
            resolve('done');
          };
          ctx.signal.addEventListener('abort', done, { once: true });
          setTimeout(done, 3000);
        }),
    ),
    count: publicProcedure
      .input(z.strictObject({ to: z.int().min(0), fail: z.boolean().optional(), lastEventId: z.string().optional() }))
      .subscription(async function* ({ input }) {
        const from = input.lastEventId ? Number(input.lastEventId) + 1 : 0;
        for (let i = from; i < input.to; i++) yield tracked(String(i), { i });
        yield { untracked: true };
        if (input.fail) throw new Error('failed while streaming');
      }),
  });

  beforeAll(async () => {
    runtime = await createTestRuntime(target);
    const subscriptions = new Subscriptions();
    const createContext = ({ req }: { req: { headers: http.IncomingHttpHeaders } }): Context => ({
      runtime,
      settings: { streamKeepaliveMs: 60_000 },
      subscriptions,
      authorization: req.headers.authorization,
    });
    app = Fastify();
    const invoker = new ProcedureInvoker({ router: testRouter, createContext: (req) => createContext({ req }) });
    const trpcOptions = { router: testRouter, createContext };
    registerSubscriptionRoutes(app, { invoker, prefix: '/direct', sse: SSE_OPTIONS });
    await registerFastCalls(app, { invoker, prefix: '/direct', paths: ['echo', 'bump', 'bug', 'slow'], trpcOptions });
    await app.register(fastifyTRPCPlugin, { prefix: '/trpc', trpcOptions });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app?.close();
    await runtime?.dispose();
  });

  it('answers queries on the direct route as tRPC’s handler does: data, bad input, a bug; batched or not', async () => {
    const get = async (prefix: string, query: string) => {
      const res = await fetch(`${url}/${prefix}/${query}`);
      return { status: res.status, body: await res.json() };
    };
    for (const [path, input] of [
      ['echo', { n: 1 }],
      ['echo', { n: -1 }],
      ['echo', { n: 1, nope: true }],
      ['bug', undefined],
    ] as const) {
      const single = input === undefined ? path : `${path}?input=${q(input)}`;
      const batched = `${path}?batch=1&input=${q({ 0: input })}`;
      const direct = await get('direct', single);
      expect(direct).toEqual(await get('trpc', single));
      expect(await get('direct', batched)).toEqual(await get('trpc', batched));
      expect(direct.status).toBe(path === 'bug' ? 500 : input.n === 1 && !('nope' in input) ? 200 : 400);
    }
  });

  it('answers mutations on the direct route as tRPC’s handler does: data, bad input, not JSON; batched or not', async () => {
    const post = async (prefix: string, query: string, body: string) => {
      const res = await fetch(`${url}/${prefix}/${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      // Fastify names the charset of a string body (the direct route's), tRPC does not: the media type is the same.
      const type = res.headers.get('content-type')?.split(';')[0];
      return { status: res.status, type, body: await res.json() };
    };
    for (const body of [{ n: 1 }, { n: -1 }, { n: 1, nope: true }, 'not json']) {
      const single = typeof body === 'string' ? body : JSON.stringify(body);
      const batched = typeof body === 'string' ? `{"0":${body}}` : JSON.stringify({ 0: body });
      const direct = await post('direct', 'bump', single);
      expect(direct).toEqual(await post('trpc', 'bump', single));
      expect(await post('direct', 'bump?batch=1', batched)).toEqual(await post('trpc', 'bump?batch=1', batched));
      expect(direct.status).toBe(typeof body === 'string' || body.n < 0 || 'nope' in body ? 400 : 200);
    }
    expect((await post('direct', 'bump', '{"n":1}')).body).toEqual({ result: { data: { n: 2 } } });
  });

  it('streams a subscription as tRPC’s handler does: tracked and untracked values, its end, errors, a resume', async () => {
    const sse = async (prefix: string, input: unknown, lastEventId?: string) => {
      const res = await fetch(`${url}/${prefix}/count?input=${q(input)}`, {
        headers: { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
      });
      // tRPC's writer ends each event with one more blank line, which an EventSource ignores.
      const text = (await res.text()).replace(/\n{3,}/g, '\n\n');
      return { status: res.status, type: res.headers.get('content-type'), text };
    };
    for (const [input, lastEventId] of [
      [{ to: 3 }, undefined],
      [{ to: 3, fail: true }, undefined],
      [{ to: 5 }, '2'],
      [{ to: -1 }, undefined],
    ] as const) {
      const direct = await sse('direct', input, lastEventId);
      expect(direct).toEqual(await sse('trpc', input, lastEventId));
      expect(direct.text).toMatch(/^event: connected\n/);
    }
    // The frames themselves, once (the comparison above would pass if both were empty).
    const { text } = await sse('direct', { to: 2 });
    expect(text.split('\n\n').slice(1)).toEqual([
      'data: {"i":0}\nid: 0',
      'data: {"i":1}\nid: 1',
      'data: {"untracked":true}\nid: ',
      'event: restore-id\ndata: \nid: 1',
      'event: return\ndata: ',
      '',
    ]);
  });

  it('aborts the procedure’s signal when its client disconnects mid-call, not when an answer completes', async () => {
    const waitFor = async (check: () => boolean) => {
      const deadline = Date.now() + 2000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error('condition not met in time');
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const leaving = newId('run');
    const request = http.get(`${url}/direct/slow?input=${q({ id: leaving })}`);
    request.on('error', () => {});
    await waitFor(() => slow.get(leaving)?.started === true);
    request.destroy();
    await waitFor(() => slow.get(leaving)?.aborted === true);
    // A client that stays gets its answer after the procedure's own timeout: its signal was never aborted.
    const staying = newId('run');
    const answer = await fetch(`${url}/direct/slow?input=${q({ id: staying })}`);
    expect(await answer.json()).toEqual({ result: { data: 'done' } });
    expect(slow.get(staying)).toEqual({ started: true, aborted: false });
  });
});

describe.each(databaseTargets())('an internal error of the real server ($name)', (target) => {
  let runtime: TestRuntime;
  let app: FastifyInstance;
  let url: string;
  const logged: { level: number; msg: string; path?: string }[] = [];

  beforeAll(async () => {
    runtime = await createTestRuntime(target);
    // The server's own logger, kept: what an operator would read.
    const logger = pino({ level: 'info' }, { write: (line: string) => logged.push(JSON.parse(line)) });
    app = await buildServer({ ...runtime, logger });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    // A bug's stand-in, no mock: the table every run read needs is gone.
    await runtime.database.db.execute('ALTER TABLE runs RENAME TO runs_gone');
  });
  afterAll(async () => {
    await runtime?.database.db.execute('ALTER TABLE runs_gone RENAME TO runs');
    await app?.close();
    await runtime?.dispose();
  });

  const errorsLogged = () => logged.filter((line) => line.level >= 50);

  it.each([
    ['the direct route', `runs.list?input=${q({ limit: 1 })}`, {}],
    ['tRPC’s handler', `runs.list?input=${q({ limit: 1 })}`, { 'trpc-accept': 'application/json' }],
    ['a subscription', `runs.stream?input=${q({ runId: newId('run') })}`, { accept: 'text/event-stream' }],
  ])('is logged exactly once through %s', async (_, query, headers) => {
    const before = errorsLogged().length;
    const res = await fetch(`${url}/trpc/${query}`, { headers });
    const text = await res.text();
    expect(text).toContain('INTERNAL_SERVER_ERROR');
    expect(text).not.toContain('runs_gone');
    expect(text).not.toContain('"runs"');
    const lines = errorsLogged().slice(before);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'request failed', path: query.split('?')[0] });
  });
});

describe.each(databaseTargets())('the real server’s direct routes against tRPC’s handler ($name)', (target) => {
  let runtime: TestRuntime;
  let app: FastifyInstance;
  let url: string;
  const agentId = newId('agent');

  beforeAll(async () => {
    runtime = await createTestRuntime(target);
    app = await buildServer(runtime);
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    for (let i = 0; i < 5; i++) await runtime.runs.create(DEFAULT_ACTOR, { agentId, metadata: { i } });
  });
  afterAll(async () => {
    await app?.close();
    await runtime?.dispose();
  });

  /** The answer of the direct route and of tRPC's handler (any trpc-accept header hands a call to it). */
  const both = async (query: string) => {
    const answer = async (headers: Record<string, string>) => {
      const res = await fetch(`${url}/trpc/${query}`, { headers });
      return { status: res.status, type: res.headers.get('content-type')?.split(';')[0], body: await res.json() };
    };
    return [await answer({}), await answer({ 'trpc-accept': 'application/json' })];
  };

  it('answers runs.list as tRPC’s handler does: pages and their cursor, filters, bad input; batched or not', async () => {
    const res = await fetch(`${url}/trpc/runs.list?input=${q({ agentId, limit: 2 })}`);
    const cursor = ((await res.json()) as { result: { data: { nextCursor: string } } }).result.data.nextCursor;
    expect(cursor).toEqual(expect.any(String));
    for (const [input, status] of [
      [undefined, 200],
      [{ agentId, limit: 2 }, 200],
      [{ agentId, limit: 2, cursor }, 200],
      [{ agentId, sortBy: 'tokens', order: 'asc' }, 200],
      [{ limit: 0 }, 400],
      [{ agentId: 'not-an-id' }, 400],
      [{ cursor: 'garbage' }, 400],
      [{ nope: true }, 400],
    ] as const) {
      const single = input === undefined ? 'runs.list' : `runs.list?input=${q(input)}`;
      const [direct, adapter] = await both(single);
      expect(direct).toEqual(adapter);
      expect(direct?.status).toBe(status);
      const [directBatch, adapterBatch] = await both(`runs.list?batch=1&input=${q({ 0: input })}`);
      expect(directBatch).toEqual(adapterBatch);
    }
  });
});
