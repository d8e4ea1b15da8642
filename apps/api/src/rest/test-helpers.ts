/** Shared by the Letta REST suites: a real api on a free port, tRPC calls to seed it, raw REST calls to check it. */
import type { AddressInfo } from 'node:net';
import Letta from '@letta-ai/letta-client';
import { createTestRuntime, type DatabaseTarget, type TestRuntime } from '@runtrace/core/testing';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../server.ts';

export interface RestApi {
  rt: TestRuntime;
  app: FastifyInstance;
  url: string;
  /** A tRPC mutation over HTTP (how the suites write their data); throws on an error answer. */
  mutate<T = unknown>(procedure: string, input: unknown, key?: string): Promise<T>;
  /** A raw request to the REST layer: status, headers, the body text and its JSON (when it parses). */
  rest(path: string, init?: RequestInit & { key?: string }): Promise<RestResponse>;
  /** Letta's official client pointed at this api. */
  letta(key?: string): Letta;
  /** Runs SQL on the api's database (e.g. to age a run). */
  sql(query: string): Promise<void>;
  close(): Promise<void>;
}

export interface RestResponse {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export async function startRestApi(
  target: DatabaseTarget,
  env: Record<string, string> = {},
  options: { streamKeepaliveMs?: number } = {},
): Promise<RestApi> {
  const rt = await createTestRuntime(target, { NODE_ENV: 'production', ...env });
  let app: FastifyInstance;
  try {
    app = await buildServer(rt, { streamKeepaliveMs: options.streamKeepaliveMs ?? 200 });
    await app.listen({ host: '127.0.0.1', port: 0 });
  } catch (err) {
    await rt.dispose();
    throw err;
  }
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const auth = (key?: string): Record<string, string> => (key ? { authorization: `Bearer ${key}` } : {});
  return {
    rt,
    app,
    url,
    async mutate<T>(procedure: string, input: unknown, key?: string): Promise<T> {
      const res = await fetch(`${url}/trpc/${procedure}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth(key) },
        body: JSON.stringify(input),
      });
      const body = (await res.json()) as { result?: { data: T }; error?: { message: string } };
      if (!res.ok || !body.result) throw new Error(`${procedure} failed (${res.status}): ${body.error?.message}`);
      return body.result.data;
    },
    async rest(path: string, init: RequestInit & { key?: string } = {}): Promise<RestResponse> {
      const { key, headers, ...rest } = init;
      const res = await fetch(`${url}${path}`, {
        redirect: 'manual',
        ...rest,
        headers: { ...auth(key), ...(headers as object) },
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, text, json };
    },
    letta(key?: string) {
      return new Letta({ baseURL: url, apiKey: key ?? null, maxRetries: 0, timeout: 30_000 });
    },
    async sql(query: string) {
      await rt.database.db.execute(query);
    },
    async close() {
      await app.close();
      await rt.dispose();
    },
  };
}
