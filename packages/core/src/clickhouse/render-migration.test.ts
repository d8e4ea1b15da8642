import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../config.ts';
import { type ClickHouse, connectClickHouse } from './connect.ts';
import { readClickHouseMigrations } from './migrate.ts';
import { mutationTarget, renderBookkeepingTable, renderMigrations } from './render-migration.ts';

const single = { database: 'runtrace' };
const cluster = { database: 'runtrace', cluster: 'runtrace_cluster' };
const statementsFor = (target: { database: string; cluster?: string }) => [
  renderBookkeepingTable(target),
  ...renderMigrations(readClickHouseMigrations(), target).flatMap((m) => m.statements),
];

/** The tables the code INSERTs into and SELECTs from by their plain name (qualified(ch, …)). */
const READ_AND_WRITTEN = ['provider_traces', 'otel_traces', 'otel_traces_trace_id_ts'];

describe('ClickHouse migrations rendered for one node', () => {
  it('are byte for byte what they were before cluster support (snapshot), {{database}} replaced and nothing else', async () => {
    for (const migration of renderMigrations(readClickHouseMigrations(), single)) {
      const source = readClickHouseMigrations().find((m) => m.version === migration.version);
      expect(migration.statements).toEqual(source?.statements.map((s) => s.replaceAll('{{database}}', '`runtrace`')));
    }
    await expect(statementsFor(single).join(';\n\n')).toMatchFileSnapshot('__snapshots__/single-node.sql');
  });
});

describe('ClickHouse migrations rendered ON CLUSTER', () => {
  let ch: ClickHouse;
  beforeAll(async () => {
    ch = await connectClickHouse({ url: 'chdb:memory', dataDir: tmpdir(), database: 'render_check' });
  });
  afterAll(async () => {
    await ch?.close();
  });

  /** chdb's parser: formatQuery throws a syntax error for anything ClickHouse would not parse. */
  async function parse(sql: string): Promise<string> {
    const result = await ch.client.query({
      query: 'SELECT formatQuery({sql:String}) AS formatted',
      query_params: { sql },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ formatted: string }>();
    return row?.formatted ?? '';
  }

  it('every statement parses (chdb formatQuery), is ON CLUSTER, and stores rows only in Replicated*MergeTree tables', async () => {
    const statements = statementsFor(cluster);
    expect(statements.length).toBeGreaterThan(statementsFor(single).length);
    for (const sql of statements) {
      const formatted = await parse(sql);
      expect(formatted, sql).toContain('ON CLUSTER runtrace_cluster');
      const engine = /ENGINE = (\w+)/.exec(formatted)?.[1];
      if (engine !== undefined) expect(engine, sql).toMatch(/^(Replicated\w*MergeTree|Distributed)$/);
      if (engine?.startsWith('Replicated') && !formatted.includes('runtrace_migrations')) {
        expect(formatted).toMatch(/\('\/clickhouse\/tables\/\{shard\}\/runtrace\/\w+_local', '\{replica\}'/);
      }
    }
    // a malformed statement does fail the check
    await expect(parse('CREATE TABLE x ON CLUSTER c ENGINE = ')).rejects.toThrow();
  });

  it('keeps the plain names the code reads and writes as Distributed tables over <name>_local, sharded so rows that fold share a shard', async () => {
    const statements = (await Promise.all(statementsFor(cluster).map(parse))).join('\n');
    for (const table of READ_AND_WRITTEN) {
      expect(statements).toContain(
        `CREATE TABLE IF NOT EXISTS runtrace.${table} ON CLUSTER runtrace_cluster AS runtrace.${table}_local`,
      );
      expect(statements).toMatch(new RegExp(`Distributed\\('runtrace_cluster', 'runtrace', '${table}_local', `));
    }
    expect(statements).toContain(
      "Distributed('runtrace_cluster', 'runtrace', 'provider_traces_local', cityHash64(organization_id, step_id, created_at, id))",
    );
    expect(statements).toContain("'otel_traces_local', rand())");
    // the view fires on each shard's local inserts and feeds that shard's local lookup table
    expect(statements).toMatch(
      /TO runtrace\.otel_traces_trace_id_ts_local\s+AS SELECT[\s\S]+FROM runtrace\.otel_traces_local/,
    );
    // the bookkeeping table is one replicated table on every server: no shard in its path
    expect(statements).toContain(
      "ReplicatedReplacingMergeTree('/clickhouse/tables/all/runtrace/runtrace_migrations', '{replica}')",
    );
  });

  it('sends mutations (DELETE, TTL) to the local tables ON CLUSTER; one node keeps the table itself', async () => {
    expect(mutationTarget(single, 'provider_traces')).toBe('`runtrace`.`provider_traces`');
    const target = mutationTarget(cluster, 'provider_traces');
    expect(await parse(`DELETE FROM ${target} WHERE organization_id = 'o' AND run_id = 'r'`)).toContain(
      'DELETE FROM runtrace.provider_traces_local ON CLUSTER runtrace_cluster',
    );
    expect(await parse(`ALTER TABLE ${target} MODIFY TTL inserted_at + INTERVAL 30 DAY`)).toMatch(
      /^ALTER TABLE runtrace\.provider_traces_local ON CLUSTER runtrace_cluster\s+\(?MODIFY TTL/,
    );
  });

  it('refuses a statement it does not know how to run on a cluster, and a cluster on chdb', async () => {
    const migration = {
      version: 99,
      name: 'x',
      statements: ['ALTER TABLE {{database}}.otel_traces ADD COLUMN x UInt8'],
    };
    expect(() => renderMigrations([migration], cluster)).toThrow(/cannot render for a cluster/);
    expect(renderMigrations([migration], single)[0]?.statements).toEqual([
      'ALTER TABLE `runtrace`.otel_traces ADD COLUMN x UInt8',
    ]);
    await expect(
      connectClickHouse({ url: 'chdb:memory', dataDir: tmpdir(), cluster: 'runtrace_cluster' }),
    ).rejects.toBeInstanceOf(ConfigError);
    await expect(
      connectClickHouse({ url: 'http://127.0.0.1:1/x', dataDir: tmpdir(), cluster: 'bad name;' }),
    ).rejects.toThrow(/RUNTRACE_CLICKHOUSE_CLUSTER/);
  });
});
