import { createLogger, createRuntime, stdoutSink } from '@runtrace/core';
import { loadApiConfig } from '@runtrace/core/config';
import { otlpGrpcPort } from './otlp-grpc.ts';
import { buildServer } from './server.ts';

const config = loadApiConfig();
const logger = createLogger(config.logLevel);
const runtime = await createRuntime({ config, logger });
const app = await buildServer(runtime);
await app.listen({ host: config.host, port: config.port });
const grpcPort = otlpGrpcPort(app);
logger.info(
  {
    url: `http://${config.host}:${config.port}`,
    otlpGrpc: grpcPort === null ? 'off' : `${config.host}:${grpcPort}`,
    database: runtime.database.location,
    clickhouse: runtime.clickhouse?.location ?? 'off',
    auth: config.auth,
  },
  `Runtrace listening on http://${config.host}:${config.port} (tRPC at /trpc, OTLP/HTTP traces at /v1/traces; ` +
    `OTLP/gRPC traces ${grpcPort === null ? 'off' : `on port ${grpcPort}`})`,
);
if (runtime.database.driver === 'pglite') {
  logger.info('embedded PGlite serves one process only; set DATABASE_URL to run several api processes');
}
if (runtime.clickhouse?.kind === 'chdb') {
  logger.info(
    'embedded ClickHouse (chdb) serves one process only; set CLICKHOUSE_URL to a server to run several api processes',
  );
}

let stopping = false;
/** Exits once the logs are out, or after a short bound: a reader that stopped reading must not keep us alive. */
function exit(code: number): void {
  void stdoutSink.flush(1000).finally(() => process.exit(code));
}
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  // Armed before anything else (logging included) can block: the process ends within the timeout whatever hangs.
  const timer = setTimeout(() => {
    logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out');
    exit(1);
  }, config.shutdownTimeoutMs);
  timer.unref();
  logger.info({ signal }, 'shutting down: draining requests and background work');
  try {
    await app.close();
    await runtime.close();
    logger.info('stopped');
    exit(0);
  } catch (err) {
    logger.error({ err }, 'shutdown failed');
    exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
