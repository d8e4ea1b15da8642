import type { ClickHouseSinkStats } from './clickhouse-sink.ts';
import type { FileSinkStats } from './file-sink.ts';

export type RejectReason = 'malformed' | 'unsupported_version' | 'too_large';

/** What a running sidecar counts (`Sidecar.stats()`); `/metrics` reads it on each scrape. */
export interface SidecarStats {
  /** Connections accepted, and open now. */
  connections: number;
  activeConnections: number;
  /** Connections cut at shutdown because the client did not end in time. */
  cutConnections: number;
  bytes: number;
  /** Lines received = accepted + rejected. */
  received: number;
  accepted: number;
  rejected: Record<RejectReason, number>;
  file: FileSinkStats;
  clickhouse?: ClickHouseSinkStats;
}
