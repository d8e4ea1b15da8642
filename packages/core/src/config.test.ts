import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadApiConfig, loadSidecarConfig, loadToolConfig } from './config.ts';
import { API, SIDECAR, TOOL } from './config-slices.ts';
import { VARIABLES, type VariableName } from './config-variables.ts';

function errorOf(load: () => unknown): string {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('config slices', () => {
  it('give every process its defaults from an empty environment', () => {
    const cwd = process.cwd();
    expect(loadApiConfig({})).toMatchObject({
      host: '127.0.0.1',
      port: 8283,
      nodeEnv: 'production',
      logLevel: 'info',
      dataDir: path.resolve(cwd, '.runtrace'),
      databaseUrl: undefined,
      auth: 'optional',
      telemetryBackends: ['postgres'],
      telemetrySocket: '/var/run/telemetry/telemetry.sock',
      streamRetentionMs: 3 * 60 * 60 * 1000,
      selfTrace: { mode: 'off' },
      corsOrigins: [],
      metricsPort: undefined,
    });
    expect(loadSidecarConfig({})).toMatchObject({
      logLevel: 'info',
      sidecarDir: path.resolve(cwd, '.runtrace', 'sidecar'),
      sidecarGzip: true,
      sidecarMetricsPort: 9464,
      sidecarSocketMode: 0o600,
      shutdownTimeoutMs: 10_000,
    });
    expect(loadToolConfig({})).toEqual({
      apiUrl: 'http://127.0.0.1:8283',
      apiKey: undefined,
      databaseUrl: undefined,
      redisUrl: undefined,
      clickhouseUrl: undefined,
      requireServices: false,
      benchRuns: undefined,
      fuzz: { runs: 400, seconds: 20, seed: undefined, path: undefined },
    });
  });

  it('hold only their own settings, frozen', () => {
    const api = loadApiConfig({});
    const sidecar = loadSidecarConfig({});
    const tool = loadToolConfig({});
    expect(api).not.toHaveProperty('sidecarDir');
    expect(api).not.toHaveProperty('fuzz');
    expect(sidecar).not.toHaveProperty('port');
    expect(sidecar).not.toHaveProperty('apiUrl');
    expect(tool).not.toHaveProperty('logLevel');
    for (const config of [api, sidecar, tool]) expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(api.corsOrigins) && Object.isFrozen(api.selfTrace) && Object.isFrozen(tool.fuzz)).toBe(true);
  });

  it("ignore the variables of other processes, however wrong, and reject their own's", () => {
    const env = {
      PORT: 'eighty',
      RUNTRACE_AUTH: 'sometimes',
      RUNTRACE_SIDECAR_GZIP: 'yes',
      RUNTRACE_SIDECAR_SOCKET_MODE: '999',
      RUNTRACE_URL: 'ftp://example.com',
      RUNTRACE_FUZZ_RUNS: 'many',
    };
    expect(errorOf(() => loadApiConfig(env))).toBe(
      'invalid environment:\n  PORT: Invalid input: expected number, received NaN\n' +
        '  RUNTRACE_AUTH: Invalid option: expected one of "optional"|"required"',
    );
    expect(errorOf(() => loadSidecarConfig(env))).toBe(
      'invalid environment:\n  RUNTRACE_SIDECAR_GZIP: Invalid option: expected one of "0"|"1"|"true"|"false"|""\n' +
        '  RUNTRACE_SIDECAR_SOCKET_MODE: must be an octal file mode such as 600 or 0660',
    );
    expect(errorOf(() => loadToolConfig(env))).toBe(
      'invalid environment:\n  RUNTRACE_URL: must be an http(s) URL\n' +
        '  RUNTRACE_FUZZ_RUNS: Invalid input: expected number, received NaN',
    );
  });

  it('read the compression threshold as bytes or `off`, and name the variable when it is neither', () => {
    const threshold = (value?: string) =>
      loadApiConfig(value === undefined ? {} : { RUNTRACE_HTTP_COMPRESSION_MIN_BYTES: value }).httpCompressionMinBytes;
    expect(threshold()).toBe(1024);
    expect(threshold('')).toBe(1024);
    expect(threshold('0')).toBe(0);
    expect(threshold('65536')).toBe(65_536);
    expect(threshold('off')).toBeNull();
    for (const bad of ['-1', '1.5', '1kb', 'OFF', 'none']) {
      expect(errorOf(() => threshold(bad))).toBe(
        'invalid environment:\n  RUNTRACE_HTTP_COMPRESSION_MIN_BYTES: must be a number of bytes (0 or more) or `off`',
      );
    }
  });

  it('reject a shared variable in every process that reads it', () => {
    for (const load of [loadApiConfig, loadSidecarConfig]) {
      expect(errorOf(() => load({ LOG_LEVEL: 'loud' }))).toMatch(/^invalid environment:\n {2}LOG_LEVEL: /);
    }
    expect(() => loadToolConfig({ LOG_LEVEL: 'loud' })).not.toThrow();
    for (const load of [loadApiConfig, loadToolConfig]) {
      expect(errorOf(() => load({ DATABASE_URL: 'mysql://db' }))).toBe(
        'invalid environment:\n  DATABASE_URL: must start with postgres:// or postgresql://',
      );
    }
  });

  it('compute a shared setting the same way in each process', () => {
    const env = { RUNTRACE_DATA_DIR: 'data', INIT_CWD: '/typed/here', LOG_LEVEL: 'debug', SOCKET_PATH: '/run/t.sock' };
    const api = loadApiConfig(env);
    const sidecar = loadSidecarConfig(env);
    expect([api.dataDir, api.logLevel, api.telemetrySocket]).toEqual(['/typed/here/data', 'debug', '/run/t.sock']);
    expect([sidecar.dataDir, sidecar.logLevel, sidecar.telemetrySocket]).toEqual([api.dataDir, 'debug', '/run/t.sock']);
    expect(sidecar.sidecarDir).toBe('/typed/here/data/sidecar');
    const tool = loadToolConfig({ DATABASE_URL: 'postgres://db/x', REDIS_URL: '', RUNTRACE_API_KEY: 'k' });
    const apiOfTool = loadApiConfig({ DATABASE_URL: 'postgres://db/x', REDIS_URL: '', RUNTRACE_API_KEY: 'k' });
    expect([tool.databaseUrl, tool.redisUrl, tool.apiKey]).toEqual([apiOfTool.databaseUrl, undefined, 'k']);
  });

  it('read the main variable before its alias', () => {
    const both = { TELEMETRY_SOCKET: '/main.sock', SOCKET_PATH: '/alias.sock' };
    expect(loadSidecarConfig(both).telemetrySocket).toBe('/main.sock');
    expect(
      loadApiConfig({
        TELEMETRY_PROVIDER_TRACE_BACKEND: 'socket, postgres',
        LETTA_TELEMETRY_PROVIDER_TRACE_BACKEND: 'clickhouse',
      }).telemetryBackends,
    ).toEqual(['socket', 'postgres']);
  });

  it('resolve self-tracing: OTEL_SDK_DISABLED, then RUNTRACE_OTEL_SELF_TRACE, then the OTLP endpoints', () => {
    const selfTrace = (env: Record<string, string>) => loadApiConfig(env).selfTrace;
    const base = 'http://collector:4318/';
    expect(selfTrace({ OTEL_EXPORTER_OTLP_ENDPOINT: base })).toEqual({
      mode: 'otlp',
      url: 'http://collector:4318/v1/traces',
      headers: {},
      serviceName: 'runtrace-api',
      sampler: { name: 'parentbased_always_on', ratio: 1 },
    });
    expect(
      selfTrace({ OTEL_EXPORTER_OTLP_ENDPOINT: base, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://c/t' }),
    ).toMatchObject({ mode: 'otlp', url: 'https://c/t' });
    expect(selfTrace({ OTEL_EXPORTER_OTLP_ENDPOINT: base, RUNTRACE_OTEL_SELF_TRACE: 'off' })).toEqual({ mode: 'off' });
    expect(
      selfTrace({ OTEL_EXPORTER_OTLP_ENDPOINT: base, RUNTRACE_OTEL_SELF_TRACE: 'direct', OTEL_SERVICE_NAME: 's' }),
    ).toEqual({ mode: 'direct', serviceName: 's', sampler: { name: 'parentbased_always_on', ratio: 1 } });
    expect(selfTrace({ RUNTRACE_OTEL_SELF_TRACE: 'direct', OTEL_SDK_DISABLED: 'TRUE' })).toEqual({ mode: 'off' });
    expect(selfTrace({ RUNTRACE_OTEL_SELF_TRACE: 'direct', OTEL_SDK_DISABLED: 'false' }).mode).toBe('direct');
    expect(
      selfTrace({
        RUNTRACE_OTEL_SELF_TRACE: 'otlp:http://c/v1/traces',
        OTEL_EXPORTER_OTLP_HEADERS: 'api-key=a%3Db,x=1',
        OTEL_TRACES_SAMPLER: 'traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
      }),
    ).toMatchObject({ headers: { 'api-key': 'a=b', x: '1' }, sampler: { name: 'traceidratio', ratio: 0.25 } });
    expect(
      errorOf(() =>
        loadApiConfig({
          OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://c:4317',
          OTEL_TRACES_SAMPLER: 'sometimes',
          OTEL_TRACES_SAMPLER_ARG: '2',
          OTEL_EXPORTER_OTLP_HEADERS: 'novalue',
        }),
      ),
    ).toMatch(
      /OTEL_EXPORTER_OTLP_ENDPOINT: must be an http\(s\) URL\n {2}OTEL_EXPORTER_OTLP_HEADERS: .*\n {2}OTEL_TRACES_SAMPLER: .*\n {2}OTEL_TRACES_SAMPLER_ARG: /,
    );
  });

  it('declare every variable once and read each in some process', () => {
    const read = new Set<VariableName>([...API.variables, ...SIDECAR.variables, ...TOOL.variables]);
    expect([...read].sort()).toEqual(Object.keys(VARIABLES).sort());
  });
});
