/**
 * Runs from spans (traces/genai/): what mapping GenAI spans into runs, steps, messages and provider traces costs per
 * span, beside the same exports ingested by an organization that has it off. The exports are the Vercel AI SDK's own
 * spans (generateText with a tool: an agent, two steps, two LLM calls, a tool), each trace given fresh ids, so every
 * mapped trace records a new run of two steps, five messages and two provider traces (each kind for all traces of an
 * export in one batch call of its manager: record-traces.ts). Ingest goes through the bench's runtime in process
 * (as the receiver calls it after decoding the body); Postgres's own CPU is read from /proc beside it, since the
 * mapping's writes are mostly Postgres's work.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { Actor } from '@runtrace/core';
import { aiSdkFixture } from '@runtrace/core/testing';
import type { BenchSection, Check } from './section.ts';
import { int, measureInterleaved, ms, processCpuMs, ratio, type Summary } from './stats.ts';
import { formatTable } from './table.ts';

/** AI SDK traces per export request (6 spans each). */
const TRACES_PER_EXPORT = 16;
/** Exports in flight at once (agent processes exporting). */
const CONCURRENCY = 8;

interface FixtureSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}

/** One export of `traces` copies of the AI SDK's generateText trace, every trace and span id fresh. */
function exportOf(template: string, traces: number): { body: Buffer; spans: number } {
  const request = JSON.parse(template);
  const scope = request.resourceSpans[0].scopeSpans[0];
  const spans: FixtureSpan[] = [];
  for (let t = 0; t < traces; t++) {
    const copy = JSON.parse(JSON.stringify(scope.spans)) as FixtureSpan[];
    const traceId = randomBytes(16).toString('hex');
    const ids = new Map(copy.map((s) => [s.spanId, randomBytes(8).toString('hex')]));
    for (const s of copy) {
      s.traceId = traceId;
      s.spanId = ids.get(s.spanId) as string;
      if (s.parentSpanId) s.parentSpanId = ids.get(s.parentSpanId) ?? s.parentSpanId;
    }
    spans.push(...copy);
  }
  scope.spans = spans;
  return { body: Buffer.from(JSON.stringify(request)), spans: spans.length };
}

/** CPU time of every Postgres process on this machine so far, ms (NaN when none is visible, e.g. PGlite). */
function postgresCpuMs(): number {
  let total = 0;
  let found = false;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
    } catch {
      continue;
    }
    const cpu = processCpuMs(Number(pid));
    if (!Number.isNaN(cpu)) {
      total += cpu;
      found = true;
    }
  }
  return found ? total : Number.NaN;
}

export const spanMappingSection: BenchSection & { needsSeed: boolean } = {
  name: 'mapping',
  needsSeed: false,
  async run({ env, options, log }) {
    const rt = env.runtime;
    if (!rt.clickhouse) throw new Error('the mapping section needs ClickHouse (CLICKHOUSE_URL is off)');
    const organization = async (name: string, on: boolean): Promise<Actor> => {
      const org = await rt.auth.createOrganization(name);
      await rt.runsFromSpans.setFor(org.id, { enabled: on });
      return { organizationId: org.id, userId: org.userId };
    };
    const off = await organization('bench mapping off', false);
    const on = await organization('bench mapping on', true);
    const template = aiSdkFixture('ai-sdk-generate-text').body.toString();
    const requests = Math.max(20, Math.round(options.otlpExports / 2));
    log(
      `    ${int(requests)} exports of ${TRACES_PER_EXPORT} AI SDK traces each, mapping off and on, ${CONCURRENCY} in flight …`,
    );
    const bodies = Array.from({ length: requests + 40 }, () => exportOf(template, TRACES_PER_EXPORT));
    const spansPerExport = bodies[0]?.spans ?? 0;
    const ingest = (actor: Actor) => async (i: number) => {
      const result = await rt.traces.ingest(actor, (bodies[i % bodies.length] as { body: Buffer }).body, 'json');
      if (result.rejected) throw new Error(`an export was refused in part: ${result.errorMessage}`);
    };
    const postgresBefore = postgresCpuMs();
    const [offS, onS] = (await measureInterleaved(
      [
        { name: 'off', concurrency: CONCURRENCY, run: ingest(off), serverCpuMs: postgresCpuMs },
        // each mapped export records new runs: distinct bodies (no repeats) for the timed ones
        { name: 'on', concurrency: CONCURRENCY, run: ingest(on), serverCpuMs: postgresCpuMs },
      ],
      { requests, rounds: 4, warmup: 10, onRound: (r, n) => log(`      round ${r}/${n}`) },
    )) as [Summary, Summary];
    const postgresUsed = postgresCpuMs() - postgresBefore;
    // Every mapped trace became its run: 2 steps each (the check below).
    const runs = await rt.runs.count(on, {});
    const perSpan = (cpuMsPerOp: number) => (cpuMsPerOp * 1000) / spansPerExport;
    const row = (label: string, s: Summary) => [
      label,
      int(s.perSecond * spansPerExport),
      ms(s.p50),
      ms(s.p99),
      perSpan(s.cpuMsPerOp).toFixed(1),
      perSpan(s.serverCpuMsPerOp).toFixed(1),
      perSpan(s.cpuMsPerOp + s.serverCpuMsPerOp).toFixed(1),
    ];
    const table = formatTable(
      [
        { header: `ingest (${spansPerExport} spans/export)`, align: 'left' },
        { header: 'spans/s' },
        { header: 'p50 ms' },
        { header: 'p99 ms' },
        { header: 'api µs/span' },
        { header: 'postgres µs/span' },
        { header: 'total µs/span' },
      ],
      [row('mapping off (spans stored only)', offS), row('mapping on (runs, steps, messages, traces)', onS)],
    );
    const added = perSpan(onS.cpuMsPerOp + onS.serverCpuMsPerOp) - perSpan(offS.cpuMsPerOp + offS.serverCpuMsPerOp);
    const expectedRuns = (requests + 10) * TRACES_PER_EXPORT;
    const checks: Check[] = [
      {
        name: `every mapped trace became a run (${int(runs.count)}${runs.capped ? '+' : ''} of ${int(expectedRuns)})`,
        pass: runs.capped ? expectedRuns >= 10_000 : runs.count === expectedRuns,
      },
    ];
    return {
      title: 'Runs from spans: mapping cost per span (AI SDK traces)',
      table,
      notes: [
        `Mapping adds ${added.toFixed(1)} µs of CPU per span (api + Postgres), ${ratio(
          perSpan(onS.cpuMsPerOp + onS.serverCpuMsPerOp) / perSpan(offS.cpuMsPerOp + offS.serverCpuMsPerOp),
        )} of ingest without it; its throughput is ${ratio(onS.perSecond / offS.perSecond)} of it.`,
        'Per trace of 6 spans the mapping records a run, 2 steps (priced, with run totals and rollups), 5 messages and 2 ' +
          "provider traces through the managers' batch methods: each kind of record for all traces of an export in one " +
          'call (one statement or transaction), under 1 transaction per trace; the api and Postgres share 2 cores here.',
        `Postgres CPU over the whole measure (warm-up included): ${int(postgresUsed)} ms.`,
      ],
      checks,
    };
  },
};
