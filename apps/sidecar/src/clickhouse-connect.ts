import { connectClickHouse } from '@runtrace/core/clickhouse';
import type { ClickHouseHandle } from './clickhouse-sink.ts';
import { SidecarStartError } from './sidecar-start-error.ts';

const VARIABLE = 'SIDECAR_CLICKHOUSE_URL';

/**
 * SIDECAR_CLICKHOUSE_URL → a ClickHouse handle for the sink, through core's connector (the forms of CLICKHOUSE_URL:
 * `http(s)://user:password@host:port/database`, `chdb:<dir>`, `chdb:memory`; the database, `runtrace` by default, is
 * created when missing). A chdb directory is locked to one process: give the sidecar its own, not the api's.
 * Errors name the variable and never carry the password.
 */
export async function connectSidecarClickHouse(url: string, dataDir: string): Promise<ClickHouseHandle> {
  try {
    return await connectClickHouse({ url, dataDir, variable: VARIABLE });
  } catch (err) {
    const message = (err as Error).message;
    throw new SidecarStartError(message.includes(VARIABLE) ? message : `${VARIABLE}: ${message}`);
  }
}
