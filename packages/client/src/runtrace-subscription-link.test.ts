import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sleep, until } from './testing/streams.ts';
import { type SubscriptionPath, subscriptionClient } from './testing/subscription-client.ts';

/**
 * runtrace-subscription-link.ts against tRPC's httpSubscriptionLink over the eventsource ponyfill (the client before
 * it), both over fetch and node:http: a scripted SSE server plays each situation, and every path must report the same
 * results, states, errors and requests. The api's own behaviour is covered by streams.test.ts and the others.
 */
const PATHS: SubscriptionPath[] = ['trpc', 'fetch', 'node'];
const RECONNECT_MS = 20;
const API_KEY = 'rt-secret-key';

type Script = (attempt: number, res: http.ServerResponse) => void;

interface Request {
  input: Record<string, unknown>;
  lastEventId: string | undefined;
  authorization: string | undefined;
  accept: string | undefined;
  url: string;
}

const SSE = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };
const connected = (ms = 25_000) => `event: connected\ndata: {"reconnectAfterInactivityMs":${ms}}\n\n`;
const tracked = (seq: number) => `data: {"seqId":${seq}}\nid: e0:${seq}\n\n`;
const untracked = (lastId: string) =>
  `data: {"messageType":"ping"}\nid: \n\nevent: restore-id\ndata: \nid: ${lastId}\n\n`;
const RETURN = 'event: return\ndata: \n\n';
const PING = 'event: ping\ndata: \n\n';
const errorFrame = (code: number, key: string) =>
  `event: serialized-error\ndata: ${JSON.stringify({ message: `${key} happened`, code, data: { code: key, httpStatus: 500, path: 'runs.stream' } })}\n\n`;

let server: http.Server;
let base: string;
const scripts = new Map<string, Script>();
const requests = new Map<string, Request[]>();
const closed = new Map<string, number>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const input = JSON.parse(url.searchParams.get('input') ?? '{}') as Record<string, unknown>;
    const key = String(input.runId);
    const list = requests.get(key) ?? [];
    requests.set(key, list);
    list.push({
      input,
      lastEventId: req.headers['last-event-id'] as string | undefined,
      authorization: req.headers.authorization,
      accept: req.headers.accept,
      url: req.url ?? '',
    });
    res.once('close', () => closed.set(key, (closed.get(key) ?? 0) + 1));
    scripts.get(key.split('@')[0] as string)?.(list.length, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** An ErrorEvent by its fields (the ponyfill's was dispatched on its EventSource, ours is not). */
const eventFields = (value: unknown) => {
  if (!(value instanceof Event)) return value;
  const { type, code, message } = value as Event & { code?: number; message?: string };
  return { type, code, message };
};

interface Log {
  events: unknown[];
  done: Promise<void>;
  unsubscribe(): void;
}

/** What the subscriber saw, in order; errors as their data (or `network` for a transport's own words). */
function subscribe(path: SubscriptionPath, scenario: string, input: Record<string, unknown> = {}): Log {
  const client = subscriptionClient(path, { url: base, apiKey: API_KEY, reconnectDelayMs: RECONNECT_MS });
  const events: unknown[] = [];
  let finish = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const describeError = (error: unknown) => {
    if (!error) return null;
    const e = error as { name: string; message: string; data?: unknown; shape?: unknown };
    return e.data || /^Timeout|^Non-200|^Invalid content/.test(e.message)
      ? { name: e.name, message: e.message, data: e.data ?? null, shape: eventFields(e.shape) ?? null }
      : { name: e.name, network: true };
  };
  const subscription = client.runs.stream.subscribe({ runId: `${scenario}@${path}`, ...input } as never, {
    onStarted: () => events.push('started'),
    onData: (data) => events.push({ data }),
    onStopped: () => events.push('stopped'),
    onConnectionStateChange: (state) => events.push({ state: state.state, error: describeError(state.error) }),
    onError: (error) => {
      events.push({ error: describeError(error) });
      finish();
    },
    onComplete: () => {
      events.push('complete');
      finish();
    },
  });
  return { events, done, unsubscribe: () => subscription.unsubscribe() };
}

/** Runs `scenario` on every path; returns each path's log and requests. */
async function onEveryPath(scenario: string, script: Script, input: Record<string, unknown> = {}) {
  scripts.set(scenario, script);
  const out = new Map<SubscriptionPath, { events: unknown[]; requests: Request[] }>();
  for (const path of PATHS) {
    const log = subscribe(path, scenario, input);
    await log.done;
    await sleep(RECONNECT_MS * 5);
    out.set(path, { events: log.events, requests: requests.get(`${scenario}@${path}`) ?? [] });
  }
  const trpc = out.get('trpc');
  for (const path of PATHS) {
    const { events, requests: reqs } = out.get(path) as { events: unknown[]; requests: Request[] };
    expect({ path, events }).toEqual({ path, events: trpc?.events });
    const strip = (r: Request[]) => JSON.parse(JSON.stringify(r).replace(/(@|%40)(trpc|fetch|node)/g, '')) as unknown;
    expect({ path, requests: strip(reqs) }).toEqual({ path, requests: strip(trpc?.requests ?? []) });
  }
  return trpc as { events: unknown[]; requests: Request[] };
}

const pending = { state: 'pending', error: null };
/** A tracked value as the subscriber gets it. */
const value = (seq: number) => ({ data: { id: `e0:${seq}`, data: { seqId: seq } } });
/** The start of a subscription that got values 1 and 2, then an untracked one. */
const TWO_AND_UNTRACKED = [
  { state: 'connecting', error: null },
  'started',
  pending,
  value(1),
  value(2),
  { data: { messageType: 'ping' } },
];
const ENDED = ['stopped', { state: 'idle', error: null }, 'complete'];
const connecting = { state: 'connecting', error: null };
const lost = { state: 'connecting', error: { name: 'TRPCClientError', network: true } };

describe('runtraceSubscriptionLink, as tRPC’s httpSubscriptionLink over the eventsource ponyfill', () => {
  it('delivers tracked and untracked values, skips pings, ends on return; the key in a header only', async () => {
    const { events, requests: reqs } = await onEveryPath('values', (_, res) => {
      res.writeHead(200, SSE);
      // A CRLF message and a comment, split mid-line across writes.
      res.write(`${connected()}${tracked(1)}: comment\n${PING}data: {"seq`);
      res.write(`Id":2}\r\nid: e0:2\r\n\r\n${untracked('e0:2')}data: ["multi",\ndata: "line"]\n\n${RETURN}`);
      res.end();
    });
    expect(events).toEqual([...TWO_AND_UNTRACKED, { data: ['multi', 'line'] }, ...ENDED]);
    expect(reqs).toEqual([
      {
        input: { runId: 'values@trpc' },
        lastEventId: undefined,
        authorization: `Bearer ${API_KEY}`,
        accept: 'text/event-stream',
        url: `/trpc/runs.stream?input=${encodeURIComponent(JSON.stringify({ runId: 'values@trpc' }))}`,
      },
    ]);
  });

  it('reconnects after a dropped connection, a 503 and SERVICE_UNAVAILABLE, resuming after the last id', async () => {
    const { events, requests: reqs } = await onEveryPath(
      'drops',
      (attempt, res) => {
        if (attempt === 2) {
          res.writeHead(503).end();
          return;
        }
        res.writeHead(200, SSE);
        if (attempt === 1) {
          // An untracked value last: the restored id is the one resumed after.
          res.write(connected() + tracked(1) + tracked(2) + untracked('e0:2'));
          setTimeout(() => res.destroy(), 50);
        } else if (attempt === 3) {
          res.end(connected() + tracked(3) + errorFrame(-32603, 'SERVICE_UNAVAILABLE'));
        } else {
          res.end(connected() + tracked(4) + RETURN);
        }
      },
      { lastEventId: 'e0:0' },
    );
    const unavailable = {
      state: 'connecting',
      error: {
        name: 'TRPCClientError',
        message: 'SERVICE_UNAVAILABLE happened',
        data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 500, path: 'runs.stream' },
        shape: {
          message: 'SERVICE_UNAVAILABLE happened',
          code: -32603,
          data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 500, path: 'runs.stream' },
        },
      },
    };
    expect(events).toEqual([
      ...TWO_AND_UNTRACKED,
      lost,
      lost,
      'started',
      pending,
      value(3),
      unavailable,
      lost,
      'started',
      pending,
      value(4),
      ...ENDED,
    ]);
    expect(reqs.map((r) => r.lastEventId)).toEqual([undefined, 'e0:2', 'e0:2', 'e0:3']);
    // The EventSource reconnected to its first URL (the Last-Event-ID header wins on the server).
    expect(reqs.map((r) => r.input.lastEventId)).toEqual(['e0:0', 'e0:0', 'e0:0', 'e0:0']);
  });

  it('ends with the error on any other code or status, without reconnecting', async () => {
    for (const [scenario, script] of [
      [
        'not-found',
        (_: number, res: http.ServerResponse) =>
          res.writeHead(200, SSE).end(connected() + errorFrame(-32004, 'NOT_FOUND')),
      ],
      [
        'bug',
        (_: number, res: http.ServerResponse) =>
          res.writeHead(200, SSE).end(connected() + tracked(1) + errorFrame(-32603, 'INTERNAL_SERVER_ERROR')),
      ],
      ['unauthorized', (_: number, res: http.ServerResponse) => res.writeHead(401).end('no')],
      ['html', (_: number, res: http.ServerResponse) => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>')],
    ] as const) {
      const { events, requests: reqs } = await onEveryPath(scenario, script);
      expect(reqs).toHaveLength(1);
      const last = events.at(-1) as { error: { message: string; data: { code?: string } | null } };
      expect(last.error.message).toMatch(/happened|Non-200 status code \(401\)|Invalid content type/);
      if (scenario === 'not-found') expect(last.error.data?.code).toBe('NOT_FOUND');
    }
  });

  it('reconnects after reconnectAfterInactivityMs of silence, afresh, resuming by the input’s lastEventId', async () => {
    const { events, requests: reqs } = await onEveryPath('silence', (attempt, res) => {
      res.writeHead(200, SSE);
      if (attempt === 1) res.write(connected(300) + tracked(1) + PING);
      else res.end(connected(300) + tracked(2) + RETURN);
    });
    expect(events).toEqual([
      connecting,
      'started',
      pending,
      value(1),
      {
        state: 'connecting',
        error: {
          name: 'TRPCClientError',
          message: 'Timeout of 300ms reached while waiting for a response',
          data: null,
          shape: null,
        },
      },
      'started',
      pending,
      value(2),
      ...ENDED,
    ]);
    expect(reqs.map((r) => [r.lastEventId, r.input.lastEventId])).toEqual([
      [undefined, undefined],
      [undefined, 'e0:1'],
    ]);
    // The silent connection was closed by the client.
    expect(closed.get('silence@node')).toBe(2);
  });

  it('aborts the request when the subscriber leaves', async () => {
    scripts.set('leave', (_, res) => {
      res.writeHead(200, SSE);
      res.write(connected() + tracked(1));
    });
    for (const path of PATHS) {
      const log = subscribe(path, 'leave');
      await until('the first value', () => log.events.some((e) => typeof e === 'object' && e && 'data' in e));
      log.unsubscribe();
      await until('the server to see the request closed', () => closed.get(`leave@${path}`) === 1);
      expect(log.events.at(-1)).toBe('complete');
    }
  });

  it('watches inactivity with one timer, not a timer per event', async () => {
    const EVENTS = 2000;
    scripts.set('many', (_, res) => {
      res.writeHead(200, SSE);
      let out = connected();
      for (let i = 1; i <= EVENTS; i++) out += tracked(i);
      res.end(out + RETURN);
    });
    const timers = vi.spyOn(globalThis, 'setTimeout');
    try {
      for (const path of ['fetch', 'node'] as const) {
        timers.mockClear();
        const log = subscribe(path, 'many');
        await log.done;
        expect(log.events.filter((e) => typeof e === 'object' && e && 'data' in e)).toHaveLength(EVENTS);
        expect(timers.mock.calls.length).toBeLessThanOrEqual(2);
      }
    } finally {
      timers.mockRestore();
    }
  });
});
