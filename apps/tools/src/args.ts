import { type ParseArgsConfig, parseArgs } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Command-line flags for the tools. `pnpm simulate -- --runs 5` and `pnpm simulate --runs 5` both work: pnpm may pass
 * a leading `--` through, which would otherwise end option parsing.
 */
export function parseFlags<T extends Options>(options: T, argv: string[] = process.argv.slice(2)) {
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  try {
    return parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, ...options }, strict: true }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\nRun with --help for the options.`);
    process.exit(2);
  }
}

/** A positive integer flag, accepting `1_000_000` and `1,000,000`; exits with a message when malformed. */
export function intFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value.replaceAll(/[_,]/g, ''));
  if (!Number.isSafeInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer, got '${value}'`);
    process.exit(2);
  }
  return n;
}

/** An integer percentage flag, 0-100. */
export function percentFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value.replace(/%$/, ''));
  if (!Number.isInteger(n) || n < 0 || n > 100) {
    console.error(`--${name} must be a percentage from 0 to 100, got '${value}'`);
    process.exit(2);
  }
  return n;
}
