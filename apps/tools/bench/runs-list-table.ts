import { FLOOR_PAGES, type FloorMeasurements } from './measure-list-scenarios.ts';
import type { Check } from './section.ts';
import { int, ms, ratio, type Summary } from './stats.ts';
import { formatTable } from './table.ts';

/** Issue 17: the api's p99 under an open-loop load at half its capacity. */
const P99_TARGET_MS = 10;
/** Issue 17: the api's CPU per page at most this many times the floor server's. */
const FLOOR_CPU_RATIO_TARGET = 1.3;
const DEEP_RATIO_TARGET = 1.5;

/** The scenario names, as printed in the log, the table and the notes. */
export type ListLabels = ReturnType<typeof listLabels>;

/** The measurements of one run, one per label. */
export type ListMeasurements = Record<keyof ListLabels, Summary>;

export function listLabels(deepPage: number, agentDeepPage: number, limit: number) {
  return {
    first: 'runs.list page 1',
    firstAgent: 'runs.list page 1, agentId',
    deep: `runs.list page ${int(deepPage)}`,
    deepAgent: `runs.list page ${int(agentDeepPage)}, agentId`,
    firstClient: 'runs.list page 1, typed client',
    sqlFirst: 'SQL keyset page 1 (no HTTP)',
    sqlFirstAgent: 'SQL keyset page 1, agentId',
    sqlDeep: `SQL keyset page ${int(deepPage)}`,
    sqlDeepAgent: `SQL keyset page ${int(agentDeepPage)}, agentId`,
    offsetDeep: `SQL OFFSET ${int((deepPage - 1) * limit)} (naive)`,
    offsetDeepAgent: `SQL OFFSET ${int((agentDeepPage - 1) * limit)}, agentId`,
  };
}

interface Row {
  label: string;
  measured: Summary;
  baselineLabel: string;
  baseline: Summary;
  target: string;
  checks: Check[];
}

/**
 * Issue 17's rows: per page, the api's capacity and CPU per page beside the floor server's (closed loop, same run),
 * then both servers' p50/p99 under an open-loop load at half their capacity.
 */
export function floorTable(
  L: ListLabels,
  m: ListMeasurements,
  f: FloorMeasurements,
): { table: string; checks: Check[] } {
  const checks: Check[] = [];
  const rows = FLOOR_PAGES.map((page) => {
    const api = m[page];
    const floor = f.floor[page];
    const cpuRatio = api.serverCpuMsPerOp / floor.serverCpuMsPerOp;
    const cpuPass = cpuRatio <= FLOOR_CPU_RATIO_TARGET;
    const open = f.apiOpen[page];
    const floorOpen = f.floorOpen[page];
    const p99Pass = open.p99 <= P99_TARGET_MS;
    checks.push(
      {
        name: `${L[page]}: api cpu per page ${ratio(cpuRatio)} the floor's (≤ ${FLOOR_CPU_RATIO_TARGET}×)`,
        pass: cpuPass,
      },
      { name: `${L[page]}: api p99 ${ms(open.p99)} ms at 50% of capacity (≤ ${P99_TARGET_MS} ms)`, pass: p99Pass },
    );
    return [
      L[page],
      int(api.perSecond),
      ms(api.serverCpuMsPerOp),
      int(floor.perSecond),
      ms(floor.serverCpuMsPerOp),
      ratio(cpuRatio),
      cpuPass ? 'PASS' : 'FAIL',
      `${int(open.rate)} / ${int(floorOpen.rate)}`,
      ms(open.p50),
      ms(open.p99),
      ms(floorOpen.p50),
      ms(floorOpen.p99),
      p99Pass ? 'PASS' : 'FAIL',
    ];
  });
  const table = formatTable(
    [
      { header: 'page', align: 'left' },
      { header: 'api req/s' },
      { header: 'api cpu ms/page' },
      { header: 'floor req/s' },
      { header: 'floor cpu ms/page' },
      { header: `cpu ratio (≤ ${FLOOR_CPU_RATIO_TARGET}×)` },
      { header: 'result', align: 'left' },
      { header: '50% rate api / floor' },
      { header: 'api p50' },
      { header: `api p99 (≤ ${P99_TARGET_MS})` },
      { header: 'floor p50' },
      { header: 'floor p99' },
      { header: 'result', align: 'left' },
    ],
    rows,
  );
  return { table, checks };
}

/** Each measurement beside its baseline from the same run (closed loop, at saturation), the depth target checked. */
export function runsListTable(L: ListLabels, m: ListMeasurements): { table: string; checks: Check[] } {
  const depthCheck = (label: string, s: Summary, first: Summary): Check => ({
    name: `${label}: p50 ≤ ${DEEP_RATIO_TARGET}× page 1`,
    pass: s.p50 <= DEEP_RATIO_TARGET * first.p50,
  });
  const rows: Row[] = [
    {
      label: L.first,
      measured: m.first,
      baselineLabel: L.sqlFirst,
      baseline: m.sqlFirst,
      target: '(HTTP cost)',
      checks: [],
    },
    {
      label: L.firstAgent,
      measured: m.firstAgent,
      baselineLabel: L.sqlFirstAgent,
      baseline: m.sqlFirstAgent,
      target: '(HTTP cost)',
      checks: [],
    },
    {
      label: L.deep,
      measured: m.deep,
      baselineLabel: L.first,
      baseline: m.first,
      target: `p50 ≤ ${DEEP_RATIO_TARGET}×`,
      checks: [depthCheck(L.deep, m.deep, m.first)],
    },
    {
      label: L.deepAgent,
      measured: m.deepAgent,
      baselineLabel: L.firstAgent,
      baseline: m.firstAgent,
      target: `p50 ≤ ${DEEP_RATIO_TARGET}×`,
      checks: [depthCheck(L.deepAgent, m.deepAgent, m.firstAgent)],
    },
    {
      label: L.deep,
      measured: m.deep,
      baselineLabel: L.sqlDeep,
      baseline: m.sqlDeep,
      target: '(HTTP cost)',
      checks: [],
    },
    {
      label: L.firstClient,
      measured: m.firstClient,
      baselineLabel: L.first,
      baseline: m.first,
      target: '(client cost)',
      checks: [],
    },
    {
      label: L.sqlDeep,
      measured: m.sqlDeep,
      baselineLabel: L.offsetDeep,
      baseline: m.offsetDeep,
      target: '(vs naive)',
      checks: [],
    },
    {
      label: L.sqlDeepAgent,
      measured: m.sqlDeepAgent,
      baselineLabel: L.offsetDeepAgent,
      baseline: m.offsetDeepAgent,
      target: '(vs naive)',
      checks: [],
    },
  ];

  const table = formatTable(
    [
      { header: 'scenario', align: 'left' },
      { header: 'n' },
      { header: 'p50 ms' },
      { header: 'p99 ms' },
      { header: 'req/s' },
      { header: 'cpu ms/req' },
      { header: 'api cpu ms/req' },
      { header: 'baseline (same run)', align: 'left' },
      { header: 'n' },
      { header: 'p50 ms' },
      { header: 'p99 ms' },
      { header: 'ratio p50' },
      { header: 'ratio p99' },
      { header: 'target', align: 'left' },
      { header: 'result', align: 'left' },
    ],
    rows.map((r) => [
      r.label,
      int(r.measured.n),
      ms(r.measured.p50),
      ms(r.measured.p99),
      int(r.measured.perSecond),
      ms(r.measured.cpuMsPerOp),
      ms(r.measured.serverCpuMsPerOp),
      r.baselineLabel,
      int(r.baseline.n),
      ms(r.baseline.p50),
      ms(r.baseline.p99),
      ratio(r.measured.p50 / r.baseline.p50),
      ratio(r.measured.p99 / r.baseline.p99),
      r.target,
      r.checks.length ? (r.checks.every((k) => k.pass) ? 'PASS' : 'FAIL') : '',
    ]),
  );
  return { table, checks: rows.flatMap((r) => r.checks) };
}
