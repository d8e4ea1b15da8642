export { otlpGrpcPort } from './otlp-grpc.ts';
export type { AppRouter } from './router.ts';
export { appRouter } from './router.ts';
export { buildServer, type ServerOptions } from './server.ts';
