/**
 * The production build for tests that run it: `pnpm build` of packages (turbo: a cache hit unless a source changed),
 * and `pnpm deploy --prod` folders of the apps outside the repository.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root (where turbo and pnpm-workspace.yaml are). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const API_APP_DIR = path.join(REPO_ROOT, 'apps', 'api');
export const SIDECAR_APP_DIR = path.join(REPO_ROOT, 'apps', 'sidecar');

/** Brings the named packages' dist/ (and what they depend on) up to date with the sources. */
export function buildPackages(...packages: string[]): void {
  run(path.join(REPO_ROOT, 'node_modules', '.bin', 'turbo'), [
    'run',
    'build',
    ...packages.map((name) => `--filter=${name}`),
    '--output-logs=errors-only',
  ]);
}

/** Brings apps/api/dist and apps/sidecar/dist up to date with the sources. */
export function buildApiAndSidecar(): void {
  buildPackages('@runtrace/api', '@runtrace/sidecar');
}

/** `pnpm --filter <pkg> deploy --prod <dir>`: the package's files and its production dependencies, self-contained. */
export function deployFolder(pkg: '@runtrace/api' | '@runtrace/sidecar', dir: string): void {
  run('pnpm', ['--filter', pkg, 'deploy', '--prod', dir]);
}

/** Runs a command to its end (in the repository's root unless `cwd` is given); throws with its output on failure. */
export function run(command: string, args: string[], cwd = REPO_ROOT): void {
  try {
    execFileSync(command, args, { cwd, stdio: 'pipe', encoding: 'utf8' });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`${path.basename(command)} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}
