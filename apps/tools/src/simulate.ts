/**
 * `pnpm simulate`: records realistic agent runs through the typed client against a running api.
 *
 *   pnpm start &                                   # an api on http://127.0.0.1:8283
 *   pnpm simulate -- --runs 50 --concurrency 4
 *
 * Token counts, models, tool calls, thinking and provider errors come from shared/data/provider-traces.sample.ndjson.
 */

import { createRuntraceClient } from '@runtrace/client';
import { ConfigError, loadToolConfig } from '@runtrace/core/config';
import { intFlag, parseFlags, percentFlag } from './args.ts';
import { describeCall, loadProviderSamples } from './provider-samples.ts';
import { createRandom, stableId } from './random.ts';
import { AGENT_PROFILES, type AgentProfile } from './simulate/agent-profiles.ts';
import { planOutcomes } from './simulate/plan-outcomes.ts';
import { printSummary } from './simulate/print-summary.ts';
import { recordRuns } from './simulate/record-runs.ts';

const USAGE = `pnpm simulate [-- options]

Records realistic agent runs (steps, token usage, messages, stop reasons) through the typed client.

  --url <url>          the api (default RUNTRACE_URL or http://127.0.0.1:8283)
  --api-key <key>      an API key (default RUNTRACE_API_KEY; none → the default organization)
  --runs <n>           how many runs (default 20)
  --agents <n>         over how many agents, 1-${AGENT_PROFILES.length} (default 3)
  --concurrency <n>    runs recorded at once (default 4)
  --step-delay <ms>    pause between steps, to watch runs live in a dashboard (default 0)
  --background <pct>   share of background runs, 0-100 (default 30); they stream their events token by token
                       through runs.appendEvents: watch one with \`pnpm watch-run <runId>\`
  --token-delay <ms>   pause between the streamed chunks of a background run (default 0: each message's chunks
                       in one append); e.g. 30 to watch tokens arrive
  --seed <n>           replay the same choices (default random)`;

async function main() {
  const flags = parseFlags({
    url: { type: 'string' },
    'api-key': { type: 'string' },
    runs: { type: 'string' },
    agents: { type: 'string' },
    concurrency: { type: 'string' },
    'step-delay': { type: 'string' },
    background: { type: 'string' },
    'token-delay': { type: 'string' },
    seed: { type: 'string' },
  });
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const config = loadToolConfig();
  const url = flags.url ?? config.apiUrl;
  const apiKey = flags['api-key'] ?? config.apiKey;
  const runs = intFlag('runs', flags.runs, 20);
  const agentCount = Math.min(intFlag('agents', flags.agents, 3), AGENT_PROFILES.length);
  const concurrency = intFlag('concurrency', flags.concurrency, 4);
  const stepDelayMs = flags['step-delay'] === undefined ? 0 : intFlag('step-delay', flags['step-delay'], 0);
  const tokenDelayMs = flags['token-delay'] === undefined ? 0 : intFlag('token-delay', flags['token-delay'], 0);
  const backgroundShare = percentFlag('background', flags.background, 30) / 100;
  const rnd = createRandom(flags.seed === undefined ? undefined : intFlag('seed', flags.seed, 1));

  const { samples, source } = loadProviderSamples();
  const calls = samples.map(describeCall);
  const agents: AgentProfile[] = AGENT_PROFILES.slice(0, agentCount).map((p) => ({
    ...p,
    id: stableId('agent', p.name),
  }));

  console.log(`Runtrace simulate → ${url}${apiKey ? ' (with API key)' : ' (default organization)'}`);
  console.log(`  provider samples: ${source} (${calls.length} calls)`);
  console.log(
    `  ${runs} runs over ${agents.length} agents, concurrency ${concurrency}, ${Math.round(backgroundShare * 100)}% background ` +
      `(streamed${tokenDelayMs ? `, ${tokenDelayMs} ms between chunks` : ''}), seed ${rnd.seed}\n`,
  );

  await checkHealth(url);
  const client = createRuntraceClient({ url, apiKey });
  const plan = planOutcomes(runs, rnd);
  const started = performance.now();
  const { results, requests } = await recordRuns({
    client,
    apiUrl: url,
    apiKey,
    plan,
    agents,
    concurrency,
    calls,
    rnd,
    stepDelayMs,
    tokenDelayMs,
    backgroundShare,
  });
  const seconds = (performance.now() - started) / 1000;
  const ok = await printSummary(client, results, requests, seconds);
  return ok ? 0 : 1;
}

async function checkHealth(url: string) {
  const health = `${url.replace(/\/+$/, '')}/healthz`;
  try {
    const res = await fetch(health, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  } catch (err) {
    console.error(`Cannot reach the Runtrace api at ${health}: ${(err as Error).message}`);
    console.error('Start one with `pnpm start` (or pass --url / set RUNTRACE_URL).');
    process.exit(1);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) console.error(err.message);
    else console.error(err);
    process.exit(1);
  },
);
