import type postgres from 'postgres';

export const LIMIT = 100;

export interface Cursor {
  key: string;
  id: string;
}

export function expectRows(label: string, rows: readonly unknown[]) {
  if (rows.length < LIMIT) throw new Error(`${label}: ${rows.length} rows, expected ${LIMIT}`);
}

/**
 * The select list of RunManager's reads (core's runRecordList in runs/run-record.ts): every RunRecord column under
 * its camelCase name, bigints as text, no join (runs.run_ns mirrors run_metrics.run_ns).
 */
const RUN_COLUMNS = `"id" as "id", "agent_id" as "agentId", "status" as "status", "stop_reason" as "stopReason",
  "background" as "background", "conversation_id" as "conversationId", "base_template_id" as "baseTemplateId",
  "metadata" as "metadata", "request_config" as "requestConfig", "callback_url" as "callbackUrl",
  "callback_sent_at" as "callbackSentAt", "callback_status_code" as "callbackStatusCode",
  "callback_error" as "callbackError", "ttft_ns"::text as "ttftNs", "total_duration_ns"::text as "totalDurationNs",
  "run_ns"::text as "runNs", "model" as "model", "provider" as "provider", "step_count" as "stepCount",
  "step_errors" as "stepErrors", "total_tokens" as "totalTokens", "cost_pusd"::text as "costPusd",
  "unpriced_tokens" as "unpricedTokens", "llm_ns"::text as "llmNs", "created_at" as "createdAt",
  "updated_at" as "updatedAt", "completed_at" as "completedAt"`;

/** The query RunManager.list issues (keyset over (created_at, id)). */
export function keysetPage(
  db: postgres.Sql,
  org: string,
  agent: string | null,
  cursor: Cursor | null,
  explain: boolean,
) {
  return db<{ id: string }[]>`
    ${explain ? db`explain (format json)` : db``}
    select ${db.unsafe(RUN_COLUMNS)} from runs
    where runs.organization_id = ${org}
      ${agent ? db`and runs.agent_id = ${agent}` : db``}
      ${cursor ? db`and (runs.created_at, runs.id) < (${cursor.key}::timestamptz, ${cursor.id})` : db``}
    order by runs.created_at desc, runs.id desc
    limit ${LIMIT + 1}`;
}

/** What a naive implementation does for the same page: skip `offset` rows. */
export function offsetPage(db: postgres.Sql, org: string, agent: string | null, offset: number, explain: boolean) {
  return db<{ id: string }[]>`
    ${explain ? db`explain (format json)` : db``}
    select ${db.unsafe(RUN_COLUMNS)} from runs
    where runs.organization_id = ${org}
      ${agent ? db`and runs.agent_id = ${agent}` : db``}
    order by runs.created_at desc, runs.id desc
    limit ${LIMIT + 1} offset ${offset}`;
}

interface PlanNode {
  'Node Type': string;
  'Scan Direction'?: string;
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

/** A one-line plan: `Limit > Index Scan Backward runs_org_created_idx`. */
export async function explain(query: PromiseLike<unknown>): Promise<string> {
  const result = (await query) as { 'QUERY PLAN': { Plan: PlanNode }[] }[];
  const root = result[0]?.['QUERY PLAN'][0]?.Plan;
  const describe = (node: PlanNode): string => {
    const type = node['Scan Direction'] === 'Backward' ? `${node['Node Type']} Backward` : node['Node Type'];
    const name = `${type}${node['Index Name'] ? ` ${node['Index Name']}` : node['Relation Name'] ? ` ${node['Relation Name']}` : ''}`;
    const children = node.Plans ?? [];
    if (!children.length) return name;
    if (children.length === 1) return `${name} > ${describe(children[0] as PlanNode)}`;
    return `${name} > [${children.map(describe).join(', ')}]`;
  };
  return root ? describe(root) : '(no plan)';
}
