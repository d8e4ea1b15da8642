import type { RuntraceClient } from '@runtrace/client';
import { describeError, type RunResult } from './simulate-run.ts';

const fmt = (n: number) => n.toLocaleString('en-US');

export function progressLine(r: RunResult, done: number, total: number): string {
  const width = String(total).length;
  const head = `[${String(done).padStart(width)}/${total}] ${r.agent.name.padEnd(18)} ${r.runId ?? '(not created)'}`;
  if (r.error) return `${head}  FAILED after ${r.steps} steps: ${r.error}`;
  const end =
    r.outcome === 'running'
      ? 'running (left open)'
      : `${r.status} (${r.outcome === 'cancelled' ? 'cancelled' : r.outcome})`;
  const streamed = r.background ? `  streamed ${r.events} events` : '';
  return `${head}  ${r.steps} step${r.steps === 1 ? ' ' : 's'} ${String(r.messages).padStart(2)} msgs ${fmt(
    r.promptTokens + r.completionTokens,
  ).padStart(6)} tok  ${end}${streamed}  ${r.ms.toFixed(0)} ms`;
}

/** Prints what was recorded, and checks the server's per-run usage against what was sent. */
export async function printSummary(client: RuntraceClient, results: RunResult[], requests: number, seconds: number) {
  const failed = results.filter((r) => r.error);
  const recorded = results.filter((r) => r.runId);
  const byEnd = new Map<string, number>();
  for (const r of results) {
    if (r.error) continue;
    const key = r.outcome === 'running' ? 'running (left open)' : `${r.status} / ${r.outcome}`;
    byEnd.set(key, (byEnd.get(key) ?? 0) + 1);
  }
  const sum = (f: (r: RunResult) => number) => results.reduce((a, r) => a + f(r), 0);

  let mismatches = 0;
  for (const r of recorded) {
    try {
      const usage = await client.runs.usage.query({ runId: r.runId as string });
      const same =
        usage.stepCount === r.steps &&
        usage.promptTokens === r.promptTokens &&
        usage.completionTokens === r.completionTokens &&
        (usage.cachedInputTokens ?? 0) === r.cachedTokens;
      if (!same) {
        mismatches++;
        console.error(`  usage mismatch for ${r.runId}: server ${JSON.stringify(usage)}`);
      }
    } catch (err) {
      mismatches++;
      console.error(`  runs.usage failed for ${r.runId}: ${describeError(err)}`);
    }
  }

  console.log('\nSummary');
  console.log(
    `  runs recorded   ${recorded.length} of ${results.length}${failed.length ? `, ${failed.length} failed` : ''}`,
  );
  for (const [key, n] of [...byEnd.entries()].sort((a, b) => b[1] - a[1])) console.log(`    ${key.padEnd(28)} ${n}`);
  console.log(`  agents          ${new Set(results.map((r) => r.agent.id)).size}`);
  console.log(`  steps           ${fmt(sum((r) => r.steps))}`);
  console.log(`  messages        ${fmt(sum((r) => r.messages))}`);
  const streamed = results.filter((r) => r.background);
  console.log(`  streamed        ${fmt(sum((r) => r.events))} events of ${streamed.length} background runs`);
  console.log(`  provider traces ${fmt(sum((r) => r.providerTraces))} (a step's request and response each)`);
  const refused = results.find((r) => r.spansRefused)?.spansRefused;
  console.log(
    `  spans           ${fmt(sum((r) => r.spans))} exported over OTLP/HTTP, one trace per run${refused ? ` (not all stored: ${refused})` : ''}`,
  );
  console.log(
    `  tokens          ${fmt(sum((r) => r.promptTokens))} prompt (${fmt(sum((r) => r.cachedTokens))} cached), ` +
      `${fmt(sum((r) => r.completionTokens))} completion (${fmt(sum((r) => r.reasoningTokens))} reasoning)`,
  );
  console.log(
    `  requests        ${fmt(requests)} in ${seconds.toFixed(2)} s (${fmt(Math.round(requests / seconds))}/s)`,
  );
  const check = !recorded.length
    ? 'not checked: no run was recorded'
    : mismatches
      ? `${mismatches} run(s) disagree with what was sent`
      : `matches what was sent for all ${recorded.length} runs`;
  console.log(`  server usage    ${check}`);
  if (failed.length) console.log(`  first failure   ${failed[0]?.error}`);
  if (recorded.length) {
    console.log(`\n  try: client.runs.list.query({ agentId: '${recorded[0]?.agent.id}', limit: 10 })`);
  }
  const replay = streamed.find((r) => r.runId && !r.error);
  if (replay)
    console.log(
      `       pnpm watch-run ${replay.runId}    (replays its stream${replay.outcome === 'running' ? '; it is still open' : ''})`,
    );
  return failed.length === 0 && mismatches === 0;
}
