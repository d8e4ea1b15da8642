import type { RouterOutputs } from '@runtrace/client';
import { formatMs } from './format.ts';

/** `providerTraces.health` as the dashboard receives it. */
export type TelemetryHealth = RouterOutputs['providerTraces']['health'];
export type BackendHealthRow = TelemetryHealth['backends'][number];

export type HealthLevel = 'healthy' | 'degraded' | 'failing';

export interface HealthStatus {
  level: HealthLevel;
  /** Why, in words; for `healthy`, what was checked. */
  reasons: string[];
}

/** How far back a failure, drop or refusal still makes the status degraded. */
export const RECENT_MS = 5 * 60_000;
/** A backend queue this deep (records waiting, every organization's) is reported as backed up. */
export const QUEUE_BACKLOG = 1000;
/** Writes slower than this at p99 are reported as slow. */
export const SLOW_P99_MS = 1000;

const ago = (now: number, at: number) => `${formatMs(Math.max(0, now - at))} ago`;
const isRecent = (now: number, at: number | null | undefined): at is number =>
  typeof at === 'number' && now - at <= RECENT_MS;

/**
 * The overall status of the caller's telemetry, judged at the api's clock (`health.now`):
 * - failing: a backend's latest write for this organization failed or timed out, or its latest OTLP spans failed to
 *   be written (ClickHouse down or behind);
 * - degraded: within the last 5 minutes a write failed, records were dropped, or spans were refused for their data;
 *   records were possibly lost; a backend's queue is backed up or its p99 write latency is over a second;
 * - healthy: none of these.
 */
export function overallHealth(health: TelemetryHealth): HealthStatus {
  const { now } = health;
  const failing: string[] = [];
  const degraded: string[] = [];
  for (const b of health.backends) {
    const failures = b.writesFailed + b.writesTimedOut;
    if (b.lastFailureAt !== null && b.lastFailureAt > (b.lastOkAt ?? 0)) {
      failing.push(
        `${b.backend}: the latest write failed ${ago(now, b.lastFailureAt)} (${b.writesFailed} failed, ${b.writesTimedOut} timed out since the api started)`,
      );
    } else if (isRecent(now, b.lastFailureAt)) {
      degraded.push(
        `${b.backend}: ${failures} write${failures === 1 ? '' : 's'} failed or timed out, the latest ${ago(now, b.lastFailureAt)}`,
      );
    }
    if (isRecent(now, b.lastDroppedAt)) {
      degraded.push(
        `${b.backend}: dropped ${b.dropped} record${b.dropped === 1 ? '' : 's'}, the latest ${ago(now, b.lastDroppedAt)}`,
      );
    }
    if (b.possiblyLost > 0) {
      degraded.push(
        `${b.backend}: ${b.possiblyLost} record${b.possiblyLost === 1 ? '' : 's'} possibly lost (sent to a sidecar that crashed)`,
      );
    }
    if (b.queueDepth >= QUEUE_BACKLOG) {
      degraded.push(`${b.backend}: ${b.queueDepth.toLocaleString('en-US')} records queued (all organizations)`);
    }
    if (b.latency.p99Ms !== null && b.latency.p99Ms > SLOW_P99_MS) {
      degraded.push(`${b.backend}: slow writes (p99 ${formatMs(b.latency.p99Ms)})`);
    }
  }
  const { otlp } = health;
  if (otlp.lastFailureAt !== null && otlp.lastFailureAt > (otlp.lastWrittenAt ?? 0)) {
    failing.push(
      `OTLP: the latest spans could not be written ${ago(now, otlp.lastFailureAt)} (ClickHouse down or behind)`,
    );
  } else if (isRecent(now, otlp.lastFailureAt)) {
    degraded.push(`OTLP: span writes failed ${ago(now, otlp.lastFailureAt)}`);
  }
  if (isRecent(now, otlp.lastRejectedAt)) {
    const top = otlp.rejectedByReason[0];
    degraded.push(
      `OTLP: ${otlp.spans.rejected} span${otlp.spans.rejected === 1 ? '' : 's'} refused for their data, the latest ${ago(now, otlp.lastRejectedAt)}${top ? ` (mostly: ${top.reason})` : ''}`,
    );
  }
  if (failing.length) return { level: 'failing', reasons: [...failing, ...degraded] };
  if (degraded.length) return { level: 'degraded', reasons: degraded };
  const names = health.backends.map((b) => b.backend).join(', ');
  return {
    level: 'healthy',
    reasons: [
      health.backends.length
        ? `Every backend (${names}) took its latest write; nothing failed, dropped or refused in the last ${RECENT_MS / 60_000} minutes.`
        : 'No provider-trace backend is configured.',
    ],
  };
}
