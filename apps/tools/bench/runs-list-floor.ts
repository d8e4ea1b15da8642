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
import postgres from 'postgres';
import { reportListening } from './floor-process.ts';
import { type Cursor, keysetPage, LIMIT } from './runs-list-sql.ts';

export const RUNS_LIST_FLOOR_SCRIPT = fileURLToPath(import.meta.url);

interface ListInput {
  limit?: number;
  agentId?: string;
  cursor?: string;
}

type Row = Record<string, unknown> & { id: string; createdAt: string; updatedAt: string; completedAt: string | null };

function main(databaseUrl: string, organizationId: string, poolSize: number) {
  const sql = postgres(databaseUrl, {
    max: poolSize,
    onnotice: () => {},
    connection: { TimeZone: 'UTC', application_name: 'runtrace-bench-floor' },
    // snake_case columns as the api's camelCase keys
    transform: { column: { from: postgres.toCamel } },
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
      const items = rows.slice(0, limit);
      for (const row of items) {
        row.createdAt = toIso(row.createdAt);
        row.updatedAt = toIso(row.updatedAt);
        if (row.completedAt) row.completedAt = toIso(row.completedAt);
      }
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
