import { describe, expect, it } from 'vitest';
import { ConfigError, loadApiConfig } from '../config.ts';

describe('retention settings', () => {
  it('default to off, every 15 minutes, 1,000 runs a statement, ClickHouse keeping 30 days', () => {
    expect(loadApiConfig({})).toMatchObject({
      retentionDays: null,
      retentionIntervalMs: 15 * 60 * 1000,
      retentionBatchSize: 1000,
      clickhouseTraceTtlDays: 30,
      otelTtlDays: 30,
    });
  });

  it('give both ClickHouse TTLs the retention days unless they are set themselves', () => {
    expect(loadApiConfig({ RUNTRACE_RETENTION_DAYS: '7' })).toMatchObject({
      retentionDays: 7,
      clickhouseTraceTtlDays: 7,
      otelTtlDays: 7,
    });
    expect(
      loadApiConfig({ RUNTRACE_RETENTION_DAYS: '7', RUNTRACE_CLICKHOUSE_TTL_DAYS: '0', RUNTRACE_OTEL_TTL_DAYS: '90' }),
    ).toMatchObject({ retentionDays: 7, clickhouseTraceTtlDays: 0, otelTtlDays: 90 });
    expect(loadApiConfig({ RUNTRACE_RETENTION_DAYS: 'off', RUNTRACE_OTEL_TTL_DAYS: '' })).toMatchObject({
      retentionDays: null,
      otelTtlDays: 30,
    });
  });

  it.each(['0', '-1', '1.5', 'never', '36501'])('refuse RUNTRACE_RETENTION_DAYS=%s naming the variable', (value) => {
    expect(() => loadApiConfig({ RUNTRACE_RETENTION_DAYS: value })).toThrow(ConfigError);
    expect(() => loadApiConfig({ RUNTRACE_RETENTION_DAYS: value })).toThrow(/RUNTRACE_RETENTION_DAYS/);
  });
});
