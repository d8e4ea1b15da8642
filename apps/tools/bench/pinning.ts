import { execFileSync } from 'node:child_process';
import os from 'node:os';

/**
 * CPU pinning with `taskset` (issue 17): the server under measurement (a spawned api, a floor server, the sidecar) on
 * one core, the load generator (the bench's process, the subscriber processes it forks) on the others, so that runs
 * compare. Only processes the bench starts are pinned: Postgres and Redis are services shared with the machine's
 * other users, never re-pinned by a bench.
 */
export interface Pinning {
  /** Whether pinning is on (taskset found, at least 2 CPUs, not turned off with --no-pin). */
  readonly enabled: boolean;
  /** The CPU list servers are pinned to, e.g. `1`. */
  readonly serverCpus: string;
  /** The CPU list the load generator is pinned to, e.g. `0`. */
  readonly loadCpus: string;
  /** One line for the bench header: what is pinned where, or why nothing is. */
  describe(): string;
  /** Pins every thread of a server process (a spawned api, a floor server, the sidecar) to the server CPUs. */
  server(pid: number): void;
  /** Pins every thread of a load-generating process to the load CPUs. */
  load(pid: number): void;
  /** Gives every CPU back to `pid` (after a section pinned the bench's own process). */
  release(pid: number): void;
}

function taskset(cpus: string, pid: number): void {
  // -a: every thread of the process (libuv's pool, V8's helpers); threads started later inherit the mask.
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The pinning of this run: the last CPU for servers, the rest for the load generator; off when `disabled` or impossible. */
export function createPinning(disabled: boolean): Pinning {
  const cpus = os.availableParallelism();
  const all = `0-${cpus - 1}`;
  const found = !disabled && cpus >= 2 && hasTaskset();
  const serverCpus = String(cpus - 1);
  const loadCpus = cpus - 2 === 0 ? '0' : `0-${cpus - 2}`;
  const why = disabled ? 'turned off (--no-pin)' : cpus < 2 ? `${cpus} CPU` : 'taskset not found';
  return {
    enabled: found,
    serverCpus,
    loadCpus,
    describe: () =>
      found
        ? `pinning (taskset -a): servers under measurement (spawned api, floor servers, sidecar) on CPU ${serverCpus}; ` +
          `load generator (this process while such a section runs, subscriber processes) on CPU ${loadCpus}; ` +
          'Postgres and Redis are not the bench’s children (services shared with the machine’s other users): not pinned, they use every CPU'
        : `pinning: none (${why}); every process may run on any CPU`,
    server: (pid) => {
      if (found) taskset(serverCpus, pid);
    },
    load: (pid) => {
      if (found) taskset(loadCpus, pid);
    },
    release: (pid) => {
      if (found) taskset(all, pid);
    },
  };
}
