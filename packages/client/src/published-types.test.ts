/**
 * `@runtrace/client` as published: `pnpm pack`, installed with npm into a project outside the monorepo, type-checks a
 * typed call, and rejects a wrong one (the AppRouter types travel inside the package: @runtrace/api and
 * @runtrace/core are not published).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackages, REPO_ROOT, run } from './testing/built.ts';

/** The workspace's TypeScript, for the consumer too. */
const TYPESCRIPT_VERSION = (createRequire(import.meta.url)('typescript/package.json') as { version: string }).version;

const CALLS = `import { createRuntraceClient, type RouterOutputs } from '@runtrace/client';

const client = createRuntraceClient({ url: 'http://127.0.0.1:8283' });

export async function main(): Promise<string> {
  const run: RouterOutputs['runs']['create'] = await client.runs.create.mutate({
    agentId: 'agent-00000000-0000-4000-8000-00000000000a',
  });
  const status: string = run.status;
  // @ts-expect-error agentId is a string
  await client.runs.create.mutate({ agentId: 42 });
  // @ts-expect-error no such procedure
  await client.runs.nope.query();
  return \`\${run.id} \${status}\`;
}
`;

/** A consumer's usual settings; skipLibCheck as @trpc/server's own declarations need. */
const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    skipLibCheck: true,
    noEmit: true,
  },
};

let consumer: string;

beforeAll(() => {
  buildPackages('@runtrace/client');
  consumer = mkdtempSync(path.join(os.tmpdir(), 'runtrace-consumer-'));
  run('pnpm', ['pack', '--pack-destination', consumer], path.join(REPO_ROOT, 'packages', 'client'));
  const tarball = readdirSync(consumer).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error('pnpm pack wrote no tarball');
  writeFileSync(
    path.join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  writeFileSync(path.join(consumer, 'tsconfig.json'), JSON.stringify(TSCONFIG));
  run('npm', ['install', '--no-audit', '--no-fund', `./${tarball}`, `typescript@${TYPESCRIPT_VERSION}`], consumer);
}, 300_000);
afterAll(() => {
  if (consumer) rmSync(consumer, { recursive: true, force: true });
});

/** `tsc -p .` with `file` as the only source: its exit code and output. */
function typecheck(file: string, text: string): { code: number; output: string } {
  writeFileSync(path.join(consumer, file), text);
  writeFileSync(path.join(consumer, 'tsconfig.json'), JSON.stringify({ ...TSCONFIG, files: [file] }));
  try {
    const output = execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], {
      cwd: consumer,
      encoding: 'utf8',
    });
    return { code: 0, output };
  } catch (err) {
    const { status, stdout } = err as { status: number; stdout: string };
    return { code: status, output: stdout };
  }
}

describe('the packed @runtrace/client in a project of its own', { timeout: 120_000 }, () => {
  it('type-checks typed calls, each wrong one caught', () => {
    const { code, output } = typecheck('calls.ts', CALLS);
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it('fails on a wrong call left unmarked (the types are real, not any)', () => {
    const { code, output } = typecheck('wrong.ts', CALLS.replace('// @ts-expect-error agentId is a string\n', ''));
    expect(code).not.toBe(0);
    expect(output).toMatch(/wrong\.ts\(\d+,\d+\): error TS2322/);
  });
});
