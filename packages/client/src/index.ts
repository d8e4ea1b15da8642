export { createRuntraceClient, type RuntraceClient, type RuntraceClientOptions } from './createRuntraceClient.ts';
export type { AppRouter, RouterInputs, RouterOutputs } from './types.ts';
export { isTRPCClientError, TRPCClientError } from './errors.ts';
