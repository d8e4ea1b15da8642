/**
 * `pnpm sidecar`: the receiver of the socket telemetry protocol. Configuration comes from @runtrace/core's config
 * (TELEMETRY_SOCKET, RUNTRACE_SIDECAR_*, SIDECAR_CLICKHOUSE_URL); SIGTERM/SIGINT drain and exit 0.
 */
import { createLogger } from '@runtrace/core';
import { ConfigError, loadSidecarConfig } from '@runtrace/core/config';
import { connectSidecarClickHouse } from './clickhouse-connect.ts';
import { startSidecar } from './sidecar.ts';
import { SidecarStartError } from './sidecar-start-error.ts';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadSidecarConfig>;
  try {
    config = loadSidecarConfig();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel, 'runtrace-sidecar');
  try {
    const clickhouseUrl = config.sidecarClickhouseUrl === 'off' ? undefined : config.sidecarClickhouseUrl;
    const clickhouse = clickhouseUrl ? await connectSidecarClickHouse(clickhouseUrl, config.dataDir) : undefined;
    const sidecar = await startSidecar({
      socketPath: config.telemetrySocket,
      socketMode: config.sidecarSocketMode,
      dir: config.sidecarDir,
      gzip: config.sidecarGzip,
      rotateBytes: config.sidecarRotateBytes,
      rotateMs: config.sidecarRotateMs,
      maxLineBytes: config.sidecarMaxLineBytes,
      drainTimeoutMs: config.shutdownTimeoutMs,
      metricsPort: config.sidecarMetricsPort,
      ...(clickhouse ? { clickhouse } : {}),
      logger,
    });
    logger.info(
      {
        socket: sidecar.socketPath,
        socketMode: `0${config.sidecarSocketMode.toString(8)}`,
        dir: config.sidecarDir,
        gzip: config.sidecarGzip,
        metricsPort: sidecar.metricsPort,
        clickhouse: clickhouse?.location ?? null,
      },
      'sidecar listening',
    );
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'sidecar stopping: reading what connected clients sent, then flushing');
      sidecar.close().then(
        () => {
          logger.info({ stats: sidecar.stats() }, 'sidecar stopped');
          process.exit(0);
        },
        (err: Error) => {
          logger.error({ err }, 'sidecar failed to stop cleanly');
          process.exit(1);
        },
      );
    };
    // a repeated SIGTERM changes nothing; a second SIGINT (Ctrl-C twice) exits at once
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => {
      stop('SIGINT');
      process.once('SIGINT', () => process.exit(130));
    });
  } catch (err) {
    if (err instanceof SidecarStartError || err instanceof ConfigError) {
      logger.error(err.message);
    } else {
      logger.error({ err }, 'sidecar failed to start');
    }
    process.exit(1);
  }
}

await main();
