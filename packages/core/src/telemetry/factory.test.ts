import { describe, expect, it } from 'vitest';
import { ConfigError, loadApiConfig } from '../config.ts';
import { VARIABLES } from '../config-variables.ts';
import { connectDatabase } from '../db/connect.ts';
import { createLogger } from '../logger.ts';
import { providerTraceBackends } from './backend-registry.ts';
import { createBackends, parseBackendNames } from './factory.ts';

describe('TELEMETRY_PROVIDER_TRACE_BACKEND', () => {
  it.each([
    [undefined, ['postgres']],
    ['postgres', ['postgres']],
    ['postgres,socket', ['postgres', 'socket']],
    ['postgres , socket , clickhouse', ['postgres', 'socket', 'clickhouse']],
    [' socket,, postgres ', ['socket', 'postgres']],
  ])('%s → %j (trimmed, order kept)', (value, expected) => {
    const config = loadApiConfig(value === undefined ? {} : { TELEMETRY_PROVIDER_TRACE_BACKEND: value });
    expect(parseBackendNames(config.telemetryBackends)).toEqual(expected);
  });

  it("documents exactly the registry's backend names (README table, pnpm docs:config)", () => {
    const { doc } = VARIABLES.TELEMETRY_PROVIDER_TRACE_BACKEND;
    const documented = 'description' in doc ? [...doc.description.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]) : [];
    expect(documented.sort()).toEqual(Object.keys(providerTraceBackends).sort());
  });

  it('takes the Letta alias when the Runtrace name is unset', () => {
    expect(loadApiConfig({ LETTA_TELEMETRY_PROVIDER_TRACE_BACKEND: 'socket' }).telemetryBackends).toEqual(['socket']);
  });

  it.each([
    ['unknown_backend', /unknown backend "unknown_backend"; valid names: postgres, clickhouse, socket/],
    ['Socket', /unknown backend "Socket"/],
    ['postgres,postgres', /"postgres" is listed twice; valid names: postgres, clickhouse, socket/],
  ])('%s stops start-up with the valid names', (value, message) => {
    const names = loadApiConfig({ TELEMETRY_PROVIDER_TRACE_BACKEND: value }).telemetryBackends;
    expect(() => parseBackendNames(names)).toThrow(ConfigError);
    expect(() => parseBackendNames(names)).toThrow(message);
  });

  it('opens every configured backend in order, and closes what it opened when one cannot start', async () => {
    const database = await connectDatabase({ pgliteDir: 'memory' });
    const logger = createLogger('silent');
    try {
      const config = loadApiConfig({
        TELEMETRY_SOCKET: '/nonexistent/dir/telemetry.sock',
        CLICKHOUSE_URL: 'chdb:memory',
      });
      const backends = await createBackends(['socket', 'postgres', 'clickhouse'], { db: database.db, logger, config });
      expect(backends.map((b) => b.name)).toEqual(['socket', 'postgres', 'clickhouse']);
      await Promise.all(backends.map((b) => b.close()));
      const off = loadApiConfig({ CLICKHOUSE_URL: 'off' });
      await expect(
        createBackends(['postgres', 'clickhouse'], { db: database.db, logger, config: off }),
      ).rejects.toThrow(/CLICKHOUSE_URL/);
    } finally {
      await database.close();
    }
  });
});
