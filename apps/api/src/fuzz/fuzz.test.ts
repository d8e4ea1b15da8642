/**
 * Property-based fuzzing of every tRPC procedure, every `/v1` route and `POST /v1/traces` (JSON and protobuf) on a
 * real api over HTTP, on PGlite and on Postgres. Seeded and bounded by RUNTRACE_FUZZ_RUNS / RUNTRACE_FUZZ_SECONDS
 * (`pnpm fuzz` runs it longer); a failure prints the seed and path that replay it (RUNTRACE_FUZZ_SEED, _PATH).
 */
import { newId } from '@runtrace/core';
import { databaseTargets, testConfig } from '@runtrace/core/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RestApi, startRestApi } from '../rest/test-helpers.ts';
import { appRouter } from '../router.ts';
import { type CaseResult, checkCase } from './check-case.ts';
import { fuzzClient } from './fuzz-client.ts';
import type { Generated } from './generated.ts';
import { type FuzzState, ok } from './reads.ts';
import { restTargets } from './rest-targets.ts';
import type { Target } from './target.ts';
import { trpcTargets } from './trpc-targets.ts';

const budget = testConfig.fuzz;
const seed = budget.seed ?? (Math.random() * 2 ** 31) | 0;
const replay = budget.path !== undefined;

/** The routes Fastify serves under /v1 (`GET /v1/runs/:run_id`, …), HEAD and OPTIONS aside, from its route tree. */
function v1Routes(api: RestApi): string[] {
  const stack: string[] = [];
  const routes: string[] = [];
  for (const line of api.app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+) \(([^)]+)\)/.exec(line);
    if (!m) continue;
    const depth = (m[1] ?? '').length / 4;
    stack.length = depth;
    stack.push(m[2] ?? '');
    const url = stack.join('');
    if (!url.startsWith('/v1')) continue;
    for (const method of (m[3] ?? '').split(', '))
      if (method !== 'HEAD' && method !== 'OPTIONS') routes.push(`${method} ${url}`);
  }
  return [...new Set(routes)].sort();
}

/** The default organization's fixtures and the second organization's, created over HTTP. */
async function seedState(api: RestApi): Promise<FuzzState> {
  const client = fuzzClient(api.url);
  const org = await api.rt.auth.createOrganization('fuzz b');
  const keyB = (await api.rt.auth.createApiKey(org.id, 'fuzz b')).key;
  const call = async (path: string, input: unknown, key?: string) => {
    const a = await (key ? fuzzClient(api.url) : client).trpc('mutation', path, input, key);
    return ok(a, `seeding ${path}`) as Record<string, unknown> & { id: string };
  };
  const fixtureTraceId = newId('run')
    .replace(/^run-|-/g, '')
    .slice(0, 32);
  const orgFixtures = async (key?: string) => {
    const agentId = newId('agent');
    const run = await call('runs.create', { agentId }, key);
    const background = await call('runs.create', { agentId, background: true }, key);
    const step = await call(
      'steps.create',
      { runId: run.id, traceId: fixtureTraceId, model: 'gpt-4o-mini', tags: ['fixture'] },
      key,
    );
    const messages = (
      await (key ? fuzzClient(api.url) : client).trpc(
        'mutation',
        'messages.create',
        {
          runId: run.id,
          messages: [{ messageType: 'assistant_message', content: 'hello', stepId: step.id }],
        },
        key,
      )
    ).data as { id: string }[];
    const trace = await call(
      'providerTraces.create',
      { runId: run.id, stepId: step.id, requestJson: { a: 1 }, responseJson: { b: 2 } },
      key,
    );
    return { agentId, run, background, step, messages, trace };
  };
  const a = await orgFixtures();
  const b = await orgFixtures(keyB);
  const pools = (f: typeof a) => ({
    run: [f.run.id, f.background.id],
    backgroundRun: [f.background.id],
    deletableRun: [],
    step: [f.step.id],
    message: f.messages.map((m) => m.id),
    agent: [f.agentId],
    providerTrace: [f.trace.id],
  });
  return {
    client,
    keyB,
    pools: { own: pools(a), other: pools(b) },
    stepRun: new Map([[a.step.id, a.run.id]]),
    runAgent: new Map([
      [a.run.id, a.agentId],
      [a.background.id, a.agentId],
    ]),
    fixtureTraceId,
    fixtureRunId: a.run.id,
    flushTraces: () => api.rt.traces.flush(),
  };
}

describe.each(databaseTargets())('fuzz on $name', (database) => {
  let api: RestApi;
  let state: FuzzState;
  const trpc = trpcTargets();
  const rest = restTargets();

  beforeAll(async () => {
    api = await startRestApi(database, { CLICKHOUSE_URL: 'chdb:memory' });
    state = await seedState(api);
  });
  afterAll(async () => {
    await api?.close();
  });

  it('has a generator for every tRPC procedure and every /v1 route (and none for a route that is gone)', () => {
    const procedures = Object.keys(appRouter._def.procedures).sort();
    expect(
      procedures.filter((p) => !trpc.has(p)),
      'tRPC procedures without a fuzz generator',
    ).toEqual([]);
    expect(
      [...trpc.keys()].filter((p) => !procedures.includes(p)),
      'generators of procedures that do not exist',
    ).toEqual([]);
    const routes = v1Routes(api);
    expect(routes.length).toBeGreaterThan(15);
    expect(
      routes.filter((r) => !rest.has(r)),
      '/v1 routes without a fuzz generator',
    ).toEqual([]);
    expect(
      [...rest.keys()].filter((r) => !routes.includes(r)),
      'generators of routes that do not exist',
    ).toEqual([]);
  });

  it(
    'answers every generated input without a 5xx, names the field of every rejection, and reads back every accepted write',
    async () => {
      const targets = new Map<string, Target>([...trpc, ...rest]);
      // Writes get more of the budget: they are what can break later reads.
      const cases = fc.oneof(
        ...[...targets].map(([key, target]) => ({
          weight: target.after ? 3 : 1,
          arbitrary: target.gen.map((generated): { key: string; generated: Generated } => ({ key, generated })),
        })),
      );
      const counts = { tried: 0, accepted: 0, rejected: 0, '5xx': 0 };
      const failures: { path: string; key: string; generated: Generated; result: CaseResult }[] = [];
      let index = 0;
      console.log(`fuzz ${database.name}: seed ${seed}, at most ${budget.runs} inputs in ${budget.seconds} s`);
      const property = fc.asyncProperty(cases, async ({ key, generated }) => {
        const path = budget.path ?? String(index++);
        const target = targets.get(key) as Target;
        const result = await checkCase(state, target, generated);
        counts.tried++;
        counts[result.outcome]++;
        if (!result.problem) return;
        failures.push({ path, key, generated, result });
        if (replay) throw new Error(`${key}: ${result.problem}`);
      });
      const started = Date.now();
      await fc.assert(property, {
        seed,
        numRuns: replay ? 1 : budget.runs,
        endOnFailure: true,
        ...(replay ? { path: budget.path } : {}),
        plugins: [fc.interruptAfterTimeLimit(budget.seconds * 1000)],
      });
      console.log(
        `fuzz ${database.name}: tried ${counts.tried}, accepted ${counts.accepted}, rejected ${counts.rejected}, 5xx ${counts['5xx']} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
      );
      const report = failures.map(
        (f) =>
          `  ${f.key} [${f.generated.how}${f.generated.field ? ` ${JSON.stringify(f.generated.field)}` : ''}] ${f.result.problem}\n` +
          `    generated ${JSON.stringify(f.generated.input)?.slice(0, 400)}\n` +
          `    sent ${JSON.stringify(f.result.sent)?.slice(0, 400)}\n` +
          `    replay: RUNTRACE_FUZZ_SEED=${seed} RUNTRACE_FUZZ_PATH=${f.path}`,
      );
      if (report.length) console.log(`fuzz ${database.name}: ${failures.length} failing inputs\n${report.join('\n')}`);
      expect(failures.map((f) => `${f.key}: ${f.result.problem?.slice(0, 200)}`)).toEqual([]);
      // The budget, plus a predicate still running at the interrupt and the report.
    },
    budget.seconds * 1000 + 30_000,
  );
});
