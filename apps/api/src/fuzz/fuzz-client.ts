/**
 * Raw HTTP to a running api, as a hostile client sends it: tRPC queries, mutations and subscriptions, REST calls and
 * OTLP exports, each reduced to one {@link Answer} (status, JSON, and the tRPC error's code, field and message).
 */

/** What the api answered to one request. */
export interface Answer {
  status: number;
  json: unknown;
  text: string;
  /** tRPC: the error's code (`BAD_REQUEST`, …); REST: undefined. */
  code?: string;
  /** tRPC: the error's `data.field`. */
  field?: string | null;
  message?: string;
  /** tRPC: the result's data. */
  data?: unknown;
  /** The request could not be encoded as generated and went out as other bytes (its content is not to be read back). */
  garbled?: boolean;
}

export interface FuzzClient {
  url: string;
  trpc(type: 'query' | 'mutation' | 'subscription', path: string, input: unknown, key?: string): Promise<Answer>;
  rest(
    method: string,
    path: string,
    options?: {
      query?: Record<string, unknown>;
      body?: unknown;
      rawBody?: BodyInit;
      headers?: Record<string, string>;
      key?: string;
    },
  ): Promise<Answer>;
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

type TrpcBody = {
  result?: { data: unknown };
  error?: { message: string; data?: { code?: string; field?: string | null; httpStatus?: number } };
};

function fromTrpc(status: number, text: string, json: unknown): Answer {
  const body = json as TrpcBody | undefined;
  if (body?.error) {
    return {
      status,
      json,
      text,
      code: body.error.data?.code,
      field: body.error.data?.field ?? null,
      message: body.error.message,
    };
  }
  return { status, json, text, data: body?.result?.data };
}

/**
 * Reads Server-Sent Events until the stream ends, an error frame arrives, `quietMs` pass without a frame, or a
 * second has passed (keepalive pings never let a followed stream go quiet).
 */
export async function readSse(
  res: Response,
  abort: AbortController,
  quietMs: number,
): Promise<{ event: string; data: string }[]> {
  const frames: { event: string; data: string }[] = [];
  if (!res.body) return frames;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const deadline = Date.now() + 1000;
  let buffer = '';
  let done = false;
  while (!done) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const quiet = new Promise<'quiet'>((resolve) => {
      timer = setTimeout(() => resolve('quiet'), Math.max(0, Math.min(quietMs, deadline - Date.now())));
    });
    const next = await Promise.race([reader.read(), quiet]);
    clearTimeout(timer);
    if (next === 'quiet' || next.done) break;
    buffer += decoder.decode(next.value, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      frames.push({ event, data: data.join('\n') });
      if (event === 'serialized-error' || event === 'return' || data.join('') === '[DONE]') done = true;
      end = buffer.indexOf('\n\n');
    }
  }
  abort.abort();
  await reader.cancel().catch(() => {});
  return frames;
}

/**
 * Percent-encodes any text, lone surrogates included (as the WTF-8 bytes a careless client sends), where
 * encodeURIComponent would throw and URLSearchParams would replace them.
 */
export function encodeLoose(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    if (cp >= 0xd800 && cp <= 0xdfff) {
      out += [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    } else out += encodeURIComponent(ch);
  }
  return out;
}

function queryString(query: Record<string, unknown>): string {
  const pairs: string[] = [];
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      pairs.push(`${encodeLoose(name)}=${encodeLoose(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''))}`);
    }
  }
  return pairs.length ? `?${pairs.join('&')}` : '';
}

export function fuzzClient(url: string): FuzzClient {
  const auth = (key?: string): Record<string, string> => (key ? { authorization: `Bearer ${key}` } : {});
  return {
    url,
    async trpc(type, path, input, key) {
      const qs = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
      if (type === 'mutation') {
        const res = await fetch(`${url}/trpc/${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...auth(key) },
          body: input === undefined ? undefined : JSON.stringify(input),
        });
        const text = await res.text();
        return fromTrpc(res.status, text, parse(text));
      }
      if (type === 'query') {
        const res = await fetch(`${url}/trpc/${path}${qs}`, { headers: auth(key) });
        const text = await res.text();
        return fromTrpc(res.status, text, parse(text));
      }
      // A subscription answers 200 and then its frames: an error is a `serialized-error` frame with its HTTP status.
      const abort = new AbortController();
      const res = await fetch(`${url}/trpc/${path}${qs}`, {
        headers: { accept: 'text/event-stream', ...auth(key) },
        signal: abort.signal,
      });
      if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
        const text = await res.text();
        return fromTrpc(res.status, text, parse(text));
      }
      const frames = await readSse(res, abort, 150);
      const error = frames.find((f) => f.event === 'serialized-error');
      if (!error) return { status: res.status, json: frames, text: JSON.stringify(frames), data: frames };
      const shape = parse(error.data) as {
        message: string;
        data?: { code?: string; field?: string | null; httpStatus?: number };
      };
      return {
        status: shape?.data?.httpStatus ?? 500,
        json: shape,
        text: error.data,
        code: shape?.data?.code,
        field: shape?.data?.field ?? null,
        message: shape?.message,
      };
    },
    async rest(method, path, options = {}) {
      const headers: Record<string, string> = { ...auth(options.key), ...options.headers };
      let body: BodyInit | undefined = options.rawBody;
      if (options.body !== undefined) {
        headers['content-type'] ??= 'application/json';
        body = JSON.stringify(options.body);
      }
      const abort = new AbortController();
      const res = await fetch(`${url}${path}${queryString(options.query ?? {})}`, {
        method,
        headers,
        body,
        redirect: 'manual',
        signal: abort.signal,
      });
      if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
        const frames = await readSse(res, abort, 300);
        return { status: res.status, json: frames, text: JSON.stringify(frames) };
      }
      const buffer = Buffer.from(await res.arrayBuffer());
      const text = buffer.toString('utf8');
      return { status: res.status, json: parse(text), text, data: buffer };
    },
  };
}
