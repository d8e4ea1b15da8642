import { backfillClickHouseAnalytics, createLogger, InvalidArgument } from '@runtrace/core';
import { loadApiConfig } from '@runtrace/core/config';

/** A `--from`/`--to` value: an RFC 3339 timestamp or a date (UTC midnight). */
function parseTime(name: string, value: string | undefined): Date {
  const date = value === undefined ? null : new Date(value);
  if (!date || Number.isNaN(date.getTime())) {
    throw new InvalidArgument(
      `analytics backfill-clickhouse needs --${name} <timestamp or date>, got ${value ?? 'nothing'}`,
    );
  }
  return date;
}

/**
 * `pnpm runtrace analytics backfill-clickhouse --from <t> --to <t> [--org <org-id>]`: copies the runs and steps
 * created in [from, to) from Postgres to ClickHouse's analytics tables, and removes there what Postgres no longer has:
 * after a ClickHouse outage (the feed's lost rows, `runtrace_analytics_feed_rows_total{result="lost"}`) and before
 * switching RUNTRACE_ANALYTICS_SOURCE to clickhouse. Safe to repeat: a copy replaces the row's earlier copies.
 */
export async function analyticsCommand(
  action: string,
  values: { from?: string; to?: string; org?: string },
  print: (value: unknown, text: string) => void,
): Promise<number> {
  if (action !== 'backfill-clickhouse') throw new InvalidArgument(`unknown command: analytics ${action}`);
  const from = parseTime('from', values.from);
  const to = parseTime('to', values.to);
  if (!(to > from)) throw new InvalidArgument('--to must be later than --from');
  const result = await backfillClickHouseAnalytics(loadApiConfig(), createLogger('warn', 'runtrace-cli'), {
    from,
    to,
    ...(values.org ? { organizationId: values.org } : {}),
  });
  print(
    result,
    `copied ${result.runs} runs and ${result.steps} steps; removed ${result.removed} rows Postgres no longer has`,
  );
  return 0;
}
