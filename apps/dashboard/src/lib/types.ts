import type { RouterInputs, RouterOutputs, RunEvent } from '@runtrace/client';

/** The shapes the dashboard draws, all inferred from the api's router (no hand-written copies). */
export type Run = RouterOutputs['runs']['list']['items'][number];
export type RunStatus = Run['status'];
export type StopReason = NonNullable<Run['stopReason']>;
export type Step = RouterOutputs['runs']['steps']['items'][number];
export type Message = RouterOutputs['runs']['messages']['items'][number];
export type TraceSpan = RouterOutputs['runs']['trace'][number];
export type { TraceUpdate } from '@runtrace/client';
export type BackendHealth = RouterOutputs['providerTraces']['health']['backends'][number];
/** `runs.list`'s input without the cursor (the infinite query supplies it); its input type is a union with `{}`. */
export type RunListInput = Omit<Extract<RouterInputs['runs']['list'], { statuses?: unknown }>, 'cursor'>;

// From core's import-free module, so that neither core nor zod reaches the browser bundle.
export { RUN_STATUSES, STOP_REASONS } from '@runtrace/core/run-names';
export type { RunEvent };

export const isActive = (status: RunStatus): boolean => status === 'created' || status === 'running';
