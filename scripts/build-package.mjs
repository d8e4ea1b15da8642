#!/usr/bin/env node
/**
 * `pnpm build` of one package, run in its directory: a clean dist/ from `tsc -p tsconfig.build.json`, then every file
 * under src/ that tsc does not compile (SQL migrations, .proto files, worker .mjs entries) copied beside the JS —
 * the code finds those relative to its own module (`import.meta.url`), so dist/ must mirror src/.
 *
 * Options:
 * - `--copy <from>:<to>` copies one directory more into the output, e.g. the api takes the built dashboard into its
 *   dist/ so that a deploy folder (`pnpm deploy`) holds everything `node dist/main.js` serves.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const cwd = process.cwd();
const copies = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--copy' && args[i + 1]?.includes(':')) {
    const [from, to] = args[++i].split(':');
    copies.push({ from: path.resolve(cwd, from), to: path.resolve(cwd, to) });
  } else {
    console.error(`build-package: unknown argument ${args[i]} (usage: build-package.mjs [--copy <from>:<to>]…)`);
    process.exit(2);
  }
}

// Stale output of a removed or renamed source would otherwise be shipped (and be importable).
rmSync(path.join(cwd, 'dist'), { recursive: true, force: true });

// The package's own TypeScript (each package pins it through the catalog).
const tsc = createRequire(path.join(cwd, 'package.json')).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd, stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);

/** Copies the non-TypeScript files of `from` into `to`, keeping the folder structure. */
function copyAssets(from, to) {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) copyAssets(source, target);
    else if (!/\.(ts|tsx)$/.test(entry.name)) cpSync(source, target);
  }
}
copyAssets(path.join(cwd, 'src'), path.join(cwd, 'dist'));

for (const { from, to } of copies) {
  if (!existsSync(from)) {
    console.error(`build-package: ${path.relative(cwd, from)} does not exist (is its build a dependency of this one?)`);
    process.exit(1);
  }
  cpSync(from, to, { recursive: true });
}
