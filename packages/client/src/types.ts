import type { AppRouter } from '@runtrace/api';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';

export type { AppRouter };
/** Input types of every procedure, e.g. `RouterInputs['runs']['list']`. */
export type RouterInputs = inferRouterInputs<AppRouter>;
/** Output types of every procedure, e.g. `RouterOutputs['runs']['list']['items'][number]`. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;

type Yielded<T> = T extends AsyncIterable<infer V> ? V : never;

/** One value of `runs.stream`: an event as `{ id, data }` (id `"<epoch>:<seq>"`), or a ping when `includePings`. */
export type RunStreamMessage = Yielded<RouterOutputs['runs']['stream']>;
/** A streamed event with its id: what `runs.stream` delivers for each event. */
export type RunStreamEvent = Extract<RunStreamMessage, { id: string; data: unknown }>;
/** A run event as streamed: Letta's streaming message union (camelCased) with `runId` and `seqId` filled in. */
export type RunEvent = RunStreamEvent['data'];
/** A keepalive of `runs.stream({ includePings: true })`; it carries no id and moves no cursor. */
export type RunStreamPing = Extract<RunStreamMessage, { messageType: 'ping' }>;
/** An event as appended with `runs.appendEvents`. */
export type RunEventInput = RouterInputs['runs']['appendEvents']['events'][number];
/** One value of `runs.changes`: a run of the caller's organization was created, changed status, or was deleted. */
export type RunChangeEvent = Yielded<RouterOutputs['runs']['changes']>;
/** What `runs.traceUpdates` yields: a `snapshot` (replaces the spans held) or new `spans` (merge by spanId). */
export type TraceUpdate = Yielded<RouterOutputs['runs']['traceUpdates']>;
/** One span of a run's trace, as runs.trace and runs.traceUpdates give it. */
export type TraceSpan = RouterOutputs['runs']['trace'][number];

/** Whether a `runs.stream` value is an event (not a ping). */
export function isRunStreamEvent(message: RunStreamMessage): message is RunStreamEvent {
  return 'id' in message && 'data' in message;
}
