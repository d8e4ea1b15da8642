export { createRuntraceClient, type RuntraceClient, type RuntraceClientOptions } from './create-runtrace-client.ts';
export { isTRPCClientError, TRPCClientError } from './errors.ts';
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
  type TraceSpan,
  type TraceUpdate,
} from './types.ts';
