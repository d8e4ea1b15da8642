/**
 * `@runtrace/core/streams`: per-run event streams — the `RunStream` and `RunChangeFeed` contracts and the store
 * registry that opens both, the service the API serves streams through, and the run events themselves.
 */
export {
  createStreamStores,
  type StreamStoreFactory,
  type StreamStoreName,
  type StreamStoreSettings,
  type StreamStores,
  streamStoreFactories,
} from './factory.ts';
export type { RunChangeFeed } from './run-changes.ts';
export {
  RUN_EVENT_TYPES,
  type RunEvent,
  type RunEventInput,
  runEventSchema,
  type StreamedRunEvent,
  serializedRunEvent,
} from './run-event.ts';
export type { RunStream, RunStreamOptions, StreamItem } from './run-stream.ts';
export {
  type AppendEventsInput,
  type AppendEventsResult,
  appendEventsInput,
  RunStreamService,
  type StreamRunInput,
  streamRunInput,
} from './run-stream-service.ts';
