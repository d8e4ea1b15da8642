export * from './encode-export-response.ts';
export * from './otel-traces.ts';
export * from './otlp-to-rows.ts';
export * from './schemas.ts';
export * from './self-trace.ts';
export * from './span-metrics.ts';
export * from './span-reader.ts';
export { otlpProtoTypes } from './otlp-proto.ts';
