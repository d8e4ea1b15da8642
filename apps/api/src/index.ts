export type { AppRouter } from './router.ts';
export { appRouter } from './router.ts';
export { buildServer, DEFAULT_STREAM_KEEPALIVE_MS, type ServerOptions } from './server.ts';
