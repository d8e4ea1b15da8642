import type { RuntraceClient } from '../create-runtrace-client.ts';
import type { TRPCClientError } from '../errors.ts';
import {
  type AppRouter,
  isRunStreamEvent,
  type RouterInputs,
  type RunChangeEvent,
  type RunStreamEvent,
  type RunStreamPing,
  type TraceUpdate,
} from '../types.ts';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 5 ms; throws naming `what` after `timeoutMs`. */
export async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

export interface Watch<T> {
  values: T[];
  /** Set when the subscription failed (it does not reconnect after that). */
  error: TRPCClientError<AppRouter> | null;
  /** The subscription completed (the server ended the stream). */
  completed: boolean;
  started: number;
  /** Connection losses the client reported (it reconnects after each). */
  reconnects: number;
  /** Resolves when the subscription completed or failed. */
  done: Promise<void>;
  unsubscribe(): void;
}

function watch<T>(
  subscribe: (handlers: {
    onStarted(): void;
    onData(value: T): void;
    onError(err: TRPCClientError<AppRouter>): void;
    onComplete(): void;
    onConnectionStateChange(state: { state: string; error: unknown }): void;
  }) => { unsubscribe(): void },
): Watch<T> {
  let finish: () => void = () => {};
  const w: Watch<T> = {
    values: [],
    error: null,
    completed: false,
    started: 0,
    reconnects: 0,
    done: new Promise<void>((resolve) => {
      finish = resolve;
    }),
    unsubscribe: () => {},
  };
  const subscription = subscribe({
    onStarted() {
      w.started++;
    },
    onData(value) {
      w.values.push(value);
    },
    onError(err) {
      w.error = err;
      finish();
    },
    onComplete() {
      w.completed = true;
      finish();
    },
    onConnectionStateChange(state) {
      if (state.state === 'connecting' && state.error) w.reconnects++;
    },
  });
  w.unsubscribe = () => subscription.unsubscribe();
  return w;
}

export interface StreamWatch extends Watch<RunStreamEvent | RunStreamPing> {
  events(): RunStreamEvent[];
  pings(): RunStreamPing[];
}

/** Subscribes to `runs.stream` and collects what arrives. */
export function watchStream(client: RuntraceClient, input: RouterInputs['runs']['stream']): StreamWatch {
  const w = watch<RunStreamEvent | RunStreamPing>((handlers) => client.runs.stream.subscribe(input, handlers));
  return Object.assign(w, {
    events: () => w.values.filter(isRunStreamEvent),
    pings: () => w.values.filter((v): v is RunStreamPing => !isRunStreamEvent(v)),
  });
}

/** Subscribes to `runs.changes` and collects what arrives. */
export function watchChanges(client: RuntraceClient, input?: RouterInputs['runs']['changes']): Watch<RunChangeEvent> {
  return watch<RunChangeEvent>((handlers) => client.runs.changes.subscribe(input, handlers));
}

/** Subscribes to `runs.traceUpdates` and collects what arrives. */
export function watchTraceUpdates(
  client: RuntraceClient,
  input: RouterInputs['runs']['traceUpdates'],
): Watch<TraceUpdate> {
  return watch<TraceUpdate>((handlers) => client.runs.traceUpdates.subscribe(input, handlers));
}

/** The code of a failed subscription (`data.code`), e.g. `NOT_FOUND`. */
export function codeOf(error: TRPCClientError<AppRouter> | null): string | undefined {
  return (error?.data as { code?: string } | undefined)?.code;
}
