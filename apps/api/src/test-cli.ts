/**
 * For tests: `pnpm runtrace …` (src/cli.ts under tsx) on an embedded PGlite in a scratch data directory of its own,
 * answering its exit code and output, whether it succeeded or not.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { inheritedEnvironment } from '@runtrace/core/config';

export interface CliAnswer {
  code: number;
  stdout: string;
  stderr: string;
}

/** A CLI on a fresh data directory (`env` added to the inherited environment); `remove()` deletes the directory. */
export function scratchCli(name: string, env: Record<string, string> = {}) {
  const apiDir = fileURLToPath(new URL('..', import.meta.url));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `runtrace-${name}-cli-`));
  const fullEnv = { ...inheritedEnvironment(), RUNTRACE_DATA_DIR: dataDir, DATABASE_URL: '', ...env };
  const run = (...args: string[]): Promise<CliAnswer> =>
    promisify(execFile)(path.join(apiDir, 'node_modules', '.bin', 'tsx'), ['src/cli.ts', ...args], {
      cwd: apiDir,
      env: fullEnv,
    }).then(
      ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
      (err: CliAnswer) => err,
    );
  return { run, remove: () => rmSync(dataDir, { recursive: true, force: true }) };
}
