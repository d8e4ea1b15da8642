import { createClient } from '@clickhouse/client';
import type { ClickHouseHandle } from './clickhouse-sink.ts';
import { SidecarStartError } from './sidecar.ts';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * SIDECAR_CLICKHOUSE_URL → a ClickHouse handle for the sink: `http(s)://user:password@host:port/database` (database
 * default `runtrace`, created when missing). Errors name the variable and never carry the password.
 */
export async function connectSidecarClickHouse(value: string): Promise<ClickHouseHandle> {
  const fail = (why: string): never => {
    throw new SidecarStartError(`SIDECAR_CLICKHOUSE_URL: ${why}`);
  };
  if (value.startsWith('chdb:')) {
    fail('chdb:<dir> is not supported by the sidecar yet; use http(s)://user:password@host:port/database');
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail('not a URL (expected http(s)://user:password@host:port/database)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('expected http(s)://user:password@host:port/database');
  const database = decodeURIComponent(url.pathname.replace(/^\/+|\/+$/g, '')) || 'runtrace';
  if (!IDENTIFIER.test(database)) fail(`"${database}" is not a plain database name`);
  const secure = url.protocol === 'https:';
  const origin = `${url.protocol}//${url.hostname}:${url.port || (secure ? '8443' : '8123')}`;
  const client = createClient({
    url: origin,
    username: decodeURIComponent(url.username) || 'default',
    password: decodeURIComponent(url.password),
    application: 'runtrace-sidecar',
  });
  const location = `${origin}/${database}`;
  try {
    await client.command({ query: `CREATE DATABASE IF NOT EXISTS \`${database}\`` });
  } catch (err) {
    await client.close();
    fail(`cannot reach ClickHouse at ${location}: ${(err as Error).message}`);
  }
  return { client, database, location, close: () => client.close() };
}
