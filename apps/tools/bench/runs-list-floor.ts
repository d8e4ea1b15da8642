/**
 * The runs.list floor (issue 17): the least work any server on this stack must do for the same page. A node:http
 * server, in a process of its own, that answers the URL the typed client sends (`/trpc/runs.list?batch=1&input=…`)
 * with the same keyset query through postgres.js (bench/runs-list-sql.ts) and JSON.stringify of the page in tRPC's
 * batch envelope: no tRPC, no validation, no auth, no drizzle.
 *
 *   node --import tsx bench/runs-list-floor.ts <database url> <organization id> <pool size>
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { encodeCursor, toIso } from '@runtrace/core/internal';
import { formatUsd } from '@runtrace/core/pricing';
import postgres from 'postgres';
import { reportListening } from './floor-process.ts';
import { type Cursor, keysetPage, LIMIT } from './runs-list-sql.ts';

export const RUNS_LIST_FLOOR_SCRIPT = fileURLToPath(import.meta.url);

interface ListInput {
  limit?: number;
  agentId?: string;
  cursor?: string;
}

/** A row of the select list (runs-list-sql.ts): bigints as text, timestamps as Postgres writes them. */
interface Row {
  id: string;
  agentId: string;
  status: string;
  stopReason: string | null;
  background: boolean | null;
  conversationId: string | null;
  baseTemplateId: string | null;
  metadata: unknown;
  requestConfig: unknown;
  callbackUrl: string | null;
  callbackSentAt: string | null;
  callbackStatusCode: number | null;
  callbackError: string | null;
  ttftNs: string | null;
  totalDurationNs: string | null;
  runNs: string | null;
  model: string | null;
  provider: string | null;
  stepCount: number;
  stepErrors: number;
  totalTokens: string | number;
  costPusd: string | null;
  unpricedTokens: string | number;
  llmNs: string | null;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
}

/** The run as the api answers it (core's toRun): the same keys, in the same order, with the same values. */
function item(row: Row) {
  return {
    id: row.id,
    agentId: row.agentId,
    status: row.status,
    stopReason: row.stopReason,
    background: row.background,
    conversationId: row.conversationId,
    baseTemplateId: row.baseTemplateId,
    metadata: row.metadata ?? null,
    requestConfig: row.requestConfig ?? null,
    callbackUrl: row.callbackUrl,
    callbackSentAt: row.callbackSentAt === null ? null : toIso(row.callbackSentAt),
    callbackStatusCode: row.callbackStatusCode,
    callbackError: row.callbackError,
    ttftNs: row.ttftNs,
    totalDurationNs: row.runNs ?? row.totalDurationNs,
    model: row.model,
    provider: row.provider,
    stepCount: row.stepCount,
    stepErrors: row.stepErrors,
    totalTokens: Number(row.totalTokens),
    costUsd: row.costPusd === null ? null : formatUsd(BigInt(row.costPusd)),
    unpricedTokens: Number(row.unpricedTokens),
    llmNs: row.llmNs,
    createdAt: toIso(row.createdAt),
    updatedAt: toIso(row.updatedAt),
    completedAt: row.completedAt === null ? null : toIso(row.completedAt),
  };
}

function main(databaseUrl: string, organizationId: string, poolSize: number) {
  const sql = postgres(databaseUrl, {
    max: poolSize,
    onnotice: () => {},
    connection: { TimeZone: 'UTC', application_name: 'runtrace-bench-floor' },
    // timestamps kept as Postgres wrote them (microseconds), written out as toIso does for the api
    types: { timestamptz: { to: 1184, from: [1184], serialize: (v: string) => v, parse: (v: string) => v } },
  });
  const server = http.createServer(async (request, response) => {
    try {
      const url = new URL(request.url ?? '/', 'http://floor');
      const input = (JSON.parse(url.searchParams.get('input') ?? '{}') as Record<string, ListInput>)[0] ?? {};
      let cursor: Cursor | null = null;
      if (input.cursor) {
        const payload = JSON.parse(Buffer.from(input.cursor, 'base64url').toString('utf8')) as {
          k: string;
          id: string;
        };
        cursor = { key: payload.k, id: payload.id };
      }
      const rows = (await keysetPage(sql, organizationId, input.agentId ?? null, cursor, false)) as unknown as Row[];
      const limit = input.limit ?? LIMIT;
      const items = rows.slice(0, limit).map(item);
      const last = items[items.length - 1];
      const nextCursor = rows.length > limit && last ? encodeCursor('runs', 'desc', last.createdAt, last.id) : null;
      const body = JSON.stringify([{ result: { data: { items, nextCursor } } }]);
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      response.end(body);
    } catch (err) {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end((err as Error).message);
    }
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => reportListening((server.address() as AddressInfo).port));
  process.once('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    void sql.end({ timeout: 1 }).finally(() => process.exit(0));
  });
}

if (process.argv[1] === RUNS_LIST_FLOOR_SCRIPT) {
  const [databaseUrl, organizationId, poolSize] = process.argv.slice(2);
  if (!databaseUrl || !organizationId)
    throw new Error('usage: runs-list-floor.ts <database url> <organization id> <pool size>');
  main(databaseUrl, organizationId, Number(poolSize ?? 8));
}
