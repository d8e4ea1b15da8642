/**
 * How a migration's statements become the SQL sent to ClickHouse.
 *
 * Single node (no cluster): `{{database}}` becomes the quoted database name, nothing else changes.
 *
 * A cluster (RUNTRACE_CLICKHOUSE_CLUSTER=<name>): each `CREATE TABLE {{database}}.<t> … ENGINE = <X>MergeTree …`
 * becomes
 * 1. `<t>_local ON CLUSTER <name>` with `Replicated<X>MergeTree('/clickhouse/tables/{shard}/<db>/<t>_local',
 *    '{replica}')` (the `{shard}`/`{replica}` macros come from each server's configuration), holding the data; and
 * 2. `<t> ON CLUSTER <name> AS <t>_local ENGINE = Distributed(<name>, <db>, <t>_local, <sharding key>)`, so every
 *    INSERT and SELECT of the code keeps the table name it uses on a single node. Engines that fold rows by their
 *    sorting key (Replacing, Aggregating, …) are sharded by a hash of that key, so the rows that must fold land on
 *    one shard; a plain MergeTree by rand().
 * A materialized view is created ON CLUSTER over the local tables (each shard's view sees the rows written to its own
 * shard). Statements of any other kind are refused: a new kind of migration has to teach this function how it runs on
 * a cluster (the render test fails first). Mutations (DELETE, ALTER … TTL) go to {@link mutationTarget}.
 */
export interface RenderTarget {
  /** A checked database identifier. */
  database: string;
  /** The cluster's name in the servers' `remote_servers` configuration; undefined → a single node. */
  cluster?: string;
}

/** The suffix of the table holding a shard's rows, under the Distributed table that keeps the plain name. */
export const LOCAL_SUFFIX = '_local';

/** Cluster names are put into DDL quoted: they must be plain names (the servers' `remote_servers` keys). */
export const CLUSTER_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

const CREATE_TABLE = /^CREATE TABLE IF NOT EXISTS \{\{database\}\}\.(\w+)\s/;
const CREATE_VIEW = /^CREATE MATERIALIZED VIEW IF NOT EXISTS \{\{database\}\}\.(\w+)\s/;
const ENGINE = /\bENGINE = (\w*)MergeTree(?:\(([^)]*)\))?/;
const ORDER_BY = /\bORDER BY (.+)$/m;

const quote = (name: string) => `\`${name}\``;
const withoutComments = (sql: string) =>
  sql
    .split('\n')
    .filter((line) => !/^\s*--/.test(line))
    .join('\n')
    .trim();

/**
 * Renders every migration's statements for `target`, in order. Across migrations it remembers which tables became
 * `_local` on a cluster, so a later view or statement naming them is rendered against the right table.
 */
export function renderMigrations<M extends { statements: string[] }>(migrations: M[], target: RenderTarget): M[] {
  const locals = new Set<string>();
  return migrations.map((migration) => ({
    ...migration,
    statements: migration.statements.flatMap((statement) => renderStatement(statement, target, locals)),
  }));
}

function renderStatement(statement: string, target: RenderTarget, locals: Set<string>): string[] {
  const db = quote(target.database);
  if (target.cluster === undefined) return [statement.replaceAll('{{database}}', db)];
  const cluster = target.cluster;
  const onCluster = `ON CLUSTER ${quote(cluster)}`;
  const sql = withoutComments(statement);

  const table = CREATE_TABLE.exec(sql);
  if (table) {
    const name = table[1] as string;
    const engine = ENGINE.exec(sql);
    if (!engine) throw new Error(`cannot render for a cluster: ${name} is not a *MergeTree table`);
    const [clause, variant = '', args] = engine;
    const local = `${name}${LOCAL_SUFFIX}`;
    const zkPath = `'/clickhouse/tables/{shard}/${target.database}/${local}'`;
    const replicated = `ENGINE = Replicated${variant}MergeTree(${[zkPath, "'{replica}'", args].filter(Boolean).join(', ')})`;
    const localSql = sql
      .replace(CREATE_TABLE, `CREATE TABLE IF NOT EXISTS ${db}.${quote(local)} ${onCluster}\n`)
      .replace(clause, replicated)
      .replaceAll('{{database}}', db);
    locals.add(name);
    const distributed = `CREATE TABLE IF NOT EXISTS ${db}.${quote(name)} ${onCluster} AS ${db}.${quote(local)}
ENGINE = Distributed('${cluster}', '${target.database}', '${local}', ${shardingKey(variant, sql)})`;
    return [localSql, distributed];
  }

  const view = CREATE_VIEW.exec(sql);
  if (view) {
    const name = view[1] as string;
    const body = sql
      .slice(view[0].length)
      .replace(/\{\{database\}\}\.(\w+)\b/g, (_, referenced: string) =>
        locals.has(referenced) ? `${db}.${quote(`${referenced}${LOCAL_SUFFIX}`)}` : `${db}.${quote(referenced)}`,
      );
    return [`CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${quote(name)} ${onCluster}\n${body}`];
  }

  throw new Error(`cannot render for a cluster (only CREATE TABLE and CREATE MATERIALIZED VIEW are known): ${sql}`);
}

/** Rows an engine folds by sorting key must share a shard: hash that key; a plain MergeTree spreads at random. */
function shardingKey(variant: string, sql: string): string {
  if (variant === '') return 'rand()';
  const orderBy = ORDER_BY.exec(sql)?.[1]?.trim();
  if (!orderBy) throw new Error(`cannot render for a cluster: a ${variant}MergeTree without ORDER BY`);
  const columns = orderBy.startsWith('(') && orderBy.endsWith(')') ? orderBy.slice(1, -1) : orderBy;
  return `cityHash64(${columns})`;
}

/**
 * The migration bookkeeping table. On a cluster it is one replicated table on every server of the cluster (one
 * ZooKeeper path, no shard in it), so whichever server a later start talks to sees every version applied.
 */
export function renderBookkeepingTable(target: RenderTarget): string {
  const table = `${quote(target.database)}.${quote('runtrace_migrations')}`;
  if (target.cluster === undefined) {
    return `CREATE TABLE IF NOT EXISTS ${table}
          (version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
          ENGINE = ReplacingMergeTree ORDER BY version`;
  }
  return `CREATE TABLE IF NOT EXISTS ${table} ON CLUSTER ${quote(target.cluster)}
          (version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
          ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/${target.database}/runtrace_migrations', '{replica}') ORDER BY version`;
}

/**
 * Where a mutation (lightweight DELETE, ALTER … TTL) of one of the migrations' tables goes: on a single node the
 * table itself; on a cluster its `_local` table ON CLUSTER (a Distributed table takes no mutations).
 */
export function mutationTarget(ch: RenderTarget, table: string): string {
  const db = quote(ch.database);
  return ch.cluster === undefined
    ? `${db}.${quote(table)}`
    : `${db}.${quote(`${table}${LOCAL_SUFFIX}`)} ON CLUSTER ${quote(ch.cluster)}`;
}

/** The table that holds the rows (and the TTL) of a migrations' table: itself, or its `_local` table on a cluster. */
export function storageTable(ch: Pick<RenderTarget, 'cluster'>, table: string): string {
  return ch.cluster === undefined ? table : `${table}${LOCAL_SUFFIX}`;
}
