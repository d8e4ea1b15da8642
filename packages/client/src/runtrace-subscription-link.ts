import { type Operation, TRPCClientError, type TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { type Observer, observable } from '@trpc/server/observable';
import { SseParser } from './sse-parser.ts';
import type { SseRequest, SseTransport } from './sse-transport.ts';

export interface RuntraceSubscriptionLinkOptions {
  /** tRPC's base URL, e.g. `http://127.0.0.1:8283/trpc`. */
  url: string;
  /** Headers of every (re)connection (the Authorization header among them). */
  headers: () => Record<string, string>;
  /** Delay before reconnecting after a dropped connection (a `retry:` field from the server overrides it). */
  reconnectDelayMs: number;
  /** How each request is made. */
  transport: SseTransport;
}

/** Statuses a subscription reconnects after, like a dropped connection (a server shutting down, a proxy). */
const TRANSIENT_STATUSES = new Set([502, 503, 504]);

/**
 * tRPC's `retryableRpcCodes`: its link reconnects after these JSON-RPC codes (all four are -32603 on the wire, so
 * retry-only-unavailable.ts tells them apart by `data.code` and ends on INTERNAL_SERVER_ERROR).
 */
const RETRYABLE_RPC_CODES = new Set<number>([
  TRPC_ERROR_CODES_BY_KEY.BAD_GATEWAY,
  TRPC_ERROR_CODES_BY_KEY.SERVICE_UNAVAILABLE,
  TRPC_ERROR_CODES_BY_KEY.GATEWAY_TIMEOUT,
  TRPC_ERROR_CODES_BY_KEY.INTERNAL_SERVER_ERROR,
]);

/** The error event the EventSource ponyfill made (`TRPCClientError.from` takes its message; it becomes the cause). */
class SseErrorEvent extends Event {
  readonly code: number | undefined;
  readonly message: string | undefined;
  constructor(message: string | undefined, code?: number) {
    super('error');
    this.code = code;
    this.message = message;
  }
}

function flattenError(error: unknown): string {
  if (!(error instanceof Error)) return `${error}`;
  if ('errors' in error && Array.isArray(error.errors)) return error.errors.map(flattenError).join(', ');
  if ('cause' in error && error.cause instanceof Error) return `${error}: ${flattenError(error.cause)}`;
  return error.message;
}

/** tRPC's `inputWithTrackedEventId`: the resume id merged into an object input. */
function inputWithTrackedEventId(input: unknown, lastEventId: string | undefined): unknown {
  if (!lastEventId) return input;
  if (input != null && typeof input !== 'object') return input;
  return { ...(input ?? {}), lastEventId };
}

type ConnectionState = {
  type: 'state';
  state: 'idle' | 'connecting' | 'pending';
  error: TRPCClientError<never> | null;
};

/**
 * A tRPC link for subscriptions over tRPC's SSE protocol, in place of `httpSubscriptionLink` + an EventSource: the
 * same requests (GET `<url>/<path>?input=…`, `Accept: text/event-stream`, `Last-Event-ID` on a reconnection) and the
 * same results, states and errors as that pair, at a fraction of the CPU per event. tRPC's consumer turned each event
 * into an EventSource MessageEvent, a ReadableStream chunk, an async-generator step and — since the server asks for
 * `reconnectAfterInactivityMs` — a timer and a promise race per read; here the body's text goes through one
 * incremental parser, each message is JSON-parsed once and handed to the observer, and inactivity is watched by ONE
 * timer that is re-armed only when it fires.
 *
 * What it does, as tRPC's link over the ponyfill did:
 * - `event: connected` → `{ type: 'started' }` and the state `pending`; its `reconnectAfterInactivityMs` arms the
 *   inactivity watch: that long without a message (pings count) and the subscription reconnects afresh.
 * - A message with an id → `{ id, data: { data, id } }` (tRPC's tracked shape), its id the one resumed after; without
 *   one → `{ data }`. `event: ping` keeps the connection alive; `event: return` → `{ type: 'stopped' }`, `idle`,
 *   complete.
 * - `event: serialized-error`: a retryable code (tRPC's list) → the state `connecting` with the error, and the
 *   reconnection after the server ended the response; any other → the subscription fails with the error.
 * - A dropped connection, a network error, or a 502/503/504 → `connecting` with an error, a reconnection after
 *   `reconnectDelayMs` carrying `Last-Event-ID`. Any other non-200 status, a 204, or a body that is not
 *   `text/event-stream` → the subscription fails.
 * - Unsubscribing (or the operation's signal) aborts the request.
 */
export function runtraceSubscriptionLink<TRouter extends AnyRouter>(
  options: RuntraceSubscriptionLinkOptions,
): TRPCLink<TRouter> {
  return () =>
    ({ op }) =>
      observable((observer) => {
        if (op.type !== 'subscription') throw new Error('runtraceSubscriptionLink only supports subscriptions');
        const subscription = new SseSubscription(op, observer as Observer<unknown, TRPCClientError<TRouter>>, options);
        subscription.start();
        return () => subscription.unsubscribe();
      });
}

class SseSubscription {
  readonly #op: Operation;
  readonly #observer: Observer<unknown, TRPCClientError<never>>;
  readonly #options: RuntraceSubscriptionLinkOptions;
  readonly #parser: SseParser;
  #request: SseRequest | null = null;
  #url = '';
  #state: ConnectionState = { type: 'state', state: 'connecting', error: null };
  /** The id of the last tracked message: sent back in the input (tRPC's `lastEventId`). */
  #trackedId: string | undefined = undefined;
  /** The EventSource's last event id (restore-id included): sent as `Last-Event-ID` when reconnecting. */
  #wireId: string | null = null;
  #retryMs: number;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** `reconnectAfterInactivityMs` of the server, once it said so (kept across connections, as tRPC does). */
  #inactivityMs = 0;
  #inactivityTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #lastActivity = 0;
  #done = false;
  readonly #onAbort = () => this.#stop();

  constructor(
    op: Operation,
    observer: Observer<unknown, TRPCClientError<never>>,
    options: RuntraceSubscriptionLinkOptions,
  ) {
    this.#op = op;
    this.#observer = observer;
    this.#options = options;
    this.#retryMs = options.reconnectDelayMs;
    this.#parser = new SseParser(
      (event, data, id) => this.#frame(event, data, id),
      (ms) => {
        this.#retryMs = ms;
      },
    );
  }

  start(): void {
    this.#observer.next({ result: this.#state });
    const signal = this.#op.signal;
    if (signal?.aborted) {
      this.#stop();
      return;
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#newEventSource();
  }

  /**
   * What tRPC did with a new EventSource: its URL made now, with the resume id in the input; the EventSource's own
   * reconnections reuse that URL (the `Last-Event-ID` header carries the newer id, and wins on the server).
   */
  #newEventSource(): void {
    const op = this.#op;
    const input = inputWithTrackedEventId(op.input, this.#trackedId);
    const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
    this.#url = `${this.#options.url.replace(/\/$/, '')}/${op.path}${query}`;
    this.#wireId = null;
    this.#connect();
  }

  /** The subscriber left: as tRPC's link, complete, then abort the request. */
  unsubscribe(): void {
    this.#observer.complete();
    this.#close();
  }

  #connect(): void {
    this.#reconnectTimer = undefined;
    if (this.#done) return;
    this.#parser.reset();
    const options = this.#options;
    const url = this.#url;
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (this.#wireId) headers['Last-Event-ID'] = this.#wireId;
    Object.assign(headers, options.headers());
    this.#activity();
    const request: SseRequest = options.transport(url, headers, {
      response: (status, contentType) => {
        if (status === 204) return this.#fail('Server sent HTTP 204, not reconnecting', 204);
        if (TRANSIENT_STATUSES.has(status)) {
          // The ponyfill's fetch of the previous client threw this, which the EventSource treats as a network error.
          this.#reconnect(`HTTP ${status} from ${url.split('?')[0]}; reconnecting`);
          return false;
        }
        if (status !== 200) return this.#fail(`Non-200 status code (${status})`, status);
        if (!contentType.startsWith('text/event-stream')) {
          return this.#fail('Invalid content type, expected "text/event-stream"', status);
        }
        return true;
      },
      text: (chunk) => {
        try {
          this.#parser.feed(chunk);
        } catch (error) {
          this.#error(TRPCClientError.from(error as Error));
        }
      },
      end: () => this.#reconnect(undefined),
      error: (error) => this.#reconnect(flattenError(error)),
    });
    this.#request = request;
  }

  #frame(event: string | undefined, data: string, id: string | undefined): void {
    if (this.#done) return;
    if (id !== undefined) this.#wireId = id;
    switch (event) {
      case undefined:
      case 'message': {
        this.#activity();
        const value = JSON.parse(data) as unknown;
        if (id) {
          this.#trackedId = id;
          this.#observer.next({ result: { id, data: { data: value, id } } });
        } else {
          this.#observer.next({ result: { data: value } });
        }
        return;
      }
      case 'connected': {
        this.#activity();
        const clientOptions = JSON.parse(data) as { reconnectAfterInactivityMs?: unknown };
        const ms = clientOptions.reconnectAfterInactivityMs;
        this.#inactivityMs = typeof ms === 'number' && ms > 0 ? ms : 0;
        this.#observer.next({ result: { type: 'started' } });
        this.#setState('pending', null);
        this.#watchInactivity();
        return;
      }
      case 'ping':
        this.#activity();
        return;
      case 'serialized-error': {
        this.#activity();
        const shape = JSON.parse(data) as { code: number };
        const error = TRPCClientError.from({ error: shape });
        if (RETRYABLE_RPC_CODES.has(shape.code)) this.#setState('connecting', error);
        else this.#error(error);
        return;
      }
      case 'return':
        this.#stop();
        return;
    }
  }

  #setState(state: ConnectionState['state'], error: TRPCClientError<never> | null): void {
    this.#state = { type: 'state', state, error };
    this.#observer.next({ result: this.#state });
  }

  /** A message or connection attempt: the inactivity watch starts over (tRPC's timeout was per read). */
  #activity(): void {
    this.#lastActivity = Date.now();
  }

  #watchInactivity(): void {
    if (this.#inactivityMs === 0 || this.#inactivityTimer !== undefined || this.#done) return;
    this.#inactivityTimer = setTimeout(() => this.#checkInactivity(), this.#inactivityMs);
  }

  #checkInactivity(): void {
    this.#inactivityTimer = undefined;
    if (this.#done) return;
    const quietMs = Date.now() - this.#lastActivity;
    if (quietMs < this.#inactivityMs) {
      this.#inactivityTimer = setTimeout(() => this.#checkInactivity(), this.#inactivityMs - quietMs);
      return;
    }
    // tRPC recreated its EventSource: a new one, without the old one's Last-Event-ID, resuming by the input's id.
    this.#setState(
      'connecting',
      new TRPCClientError(`Timeout of ${this.#inactivityMs}ms reached while waiting for a response`),
    );
    this.#abortRequest();
    this.#newEventSource();
    this.#watchInactivity();
  }

  /** The connection is lost: `connecting` with the error, then a new request after the delay. */
  #reconnect(message: string | undefined, code?: number): void {
    if (this.#done) return;
    this.#abortRequest();
    this.#activity();
    this.#setState('connecting', TRPCClientError.from(new SseErrorEvent(message, code)));
    this.#reconnectTimer = setTimeout(() => this.#connect(), this.#retryMs);
  }

  /**
   * A response the EventSource would not reconnect after: the subscription fails. The error is made as tRPC's
   * consumer made it (the ErrorEvent reached `TRPCClientError.from` inside a SuppressedError, whose `error` field made
   * it look like an error response): the event's message, the event as `shape`, no `data`.
   */
  #fail(message: string, code: number): false {
    this.#error(TRPCClientError.from({ error: new SseErrorEvent(message, code) } as never));
    return false;
  }

  #error(error: TRPCClientError<never>): void {
    if (this.#done) return;
    this.#close();
    this.#observer.error(error);
  }

  /** The stream ended (`return`) or the operation's signal aborted it. */
  #stop(): void {
    if (this.#done) return;
    this.#close();
    this.#observer.next({ result: { type: 'stopped' } });
    this.#setState('idle', null);
    this.#observer.complete();
  }

  #abortRequest(): void {
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    const request = this.#request;
    this.#request = null;
    request?.close();
  }

  #close(): void {
    this.#done = true;
    this.#abortRequest();
    clearTimeout(this.#inactivityTimer);
    this.#inactivityTimer = undefined;
    this.#op.signal?.removeEventListener('abort', this.#onAbort);
  }
}
