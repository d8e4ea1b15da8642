import http from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { SidecarStats } from './sidecar-stats.ts';

/**
 * The sidecar's Prometheus metrics. The hot path only adds to plain numbers ({@link SidecarStats}); the counters
 * catch up with them when scraped, so reading a socket costs no metric calls per record.
 */
export function sidecarRegistry(stats: () => SidecarStats): Registry {
  const registry = new Registry();
  // the event-loop delay is sampled every 100 ms, not prom-client's 10: its timer woke an idle sidecar 100 times a
  // second, 2/3 of its idle CPU (≈6 of 9 ms/s here), charged to every record it then reads
  collectDefaultMetrics({ register: registry, prefix: 'runtrace_sidecar_', eventLoopMonitoringPrecision: 100 });
  const counter = (name: string, help: string, labelNames: string[], read: () => Record<string, number>) => {
    const reported = new Map<string, number>();
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        for (const [key, value] of Object.entries(read())) {
          const before = reported.get(key);
          // the first scrape shows every series, zeros included
          if (before !== undefined && value <= before) continue;
          const delta = value - (before ?? 0);
          reported.set(key, value);
          if (labelNames.length === 0) this.inc(delta);
          else this.inc({ [labelNames[0] as string]: key }, delta);
        }
      },
    });
  };
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });

  counter('runtrace_sidecar_records_received_total', 'Lines received (accepted or rejected).', [], () => ({
    all: stats().received,
  }));
  counter('runtrace_sidecar_records_accepted_total', 'Valid protocol-v1 records handed to the sinks.', [], () => ({
    all: stats().accepted,
  }));
  counter(
    'runtrace_sidecar_records_rejected_total',
    'Lines refused: malformed JSON or record, unsupported protocol_version, over the line limit.',
    ['reason'],
    () => ({ ...stats().rejected }),
  );
  counter('runtrace_sidecar_bytes_received_total', 'Bytes read from the socket.', [], () => ({ all: stats().bytes }));
  counter('runtrace_sidecar_connections_total', 'Connections accepted.', [], () => ({ all: stats().connections }));
  counter(
    'runtrace_sidecar_connections_cut_total',
    'Connections closed by force at shutdown (the client did not end within the drain timeout).',
    [],
    () => ({ all: stats().cutConnections }),
  );
  gauge('runtrace_sidecar_connections_active', 'Open connections.', () => stats().activeConnections);
  const bySink =
    (pick: (s: { records: number; writes: number; failures: number; lostRecords: number }) => number) => () => {
      const s = stats();
      return { file: pick(s.file), ...(s.clickhouse ? { clickhouse: pick(s.clickhouse) } : {}) };
    };
  counter(
    'runtrace_sidecar_sink_records_total',
    'Records written by each sink.',
    ['sink'],
    bySink((s) => s.records),
  );
  counter(
    'runtrace_sidecar_sink_writes_total',
    'Batches written by each sink.',
    ['sink'],
    bySink((s) => s.writes),
  );
  counter(
    'runtrace_sidecar_sink_failures_total',
    'Failed batch writes of each sink.',
    ['sink'],
    bySink((s) => s.failures),
  );
  counter(
    'runtrace_sidecar_sink_lost_records_total',
    'Records a sink lost (failed writes; ClickHouse backlog overflow).',
    ['sink'],
    bySink((s) => s.lostRecords),
  );
  counter('runtrace_sidecar_file_rotations_total', 'Files completed.', [], () => ({ all: stats().file.rotations }));
  gauge('runtrace_sidecar_file_pending_bytes', 'Bytes waiting for the file writer.', () => stats().file.pendingBytes);
  return registry;
}

/** `GET /metrics` on host:port (0 → a free port); anything else is 404. */
export async function serveMetrics(registry: Registry, host: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics failed: ${err.message}\n`);
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
