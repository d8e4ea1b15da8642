export { createRuntraceClient, type RuntraceClient, type RuntraceClientOptions } from './create-runtrace-client.ts';
export {
  type AppRouter,
  isRunStreamEvent,
  type RouterInputs,
  type RouterOutputs,
  type RunChangeEvent,
  type RunEvent,
  type RunEventInput,
  type RunStreamEvent,
  type RunStreamMessage,
  type RunStreamPing,
} from './types.ts';
export { isTRPCClientError, TRPCClientError } from './errors.ts';
