/**
 * Runtrace administration: organizations and API keys.
 *
 *   pnpm --silent runtrace orgs create <name>
 *   pnpm --silent runtrace orgs list
 *   pnpm --silent runtrace keys create [--org <org-id>] [--name <name>]
 *   pnpm --silent runtrace keys list [--org <org-id>]
 *   pnpm --silent runtrace keys revoke <key-id>
 *   pnpm --silent runtrace migrate
 *   pnpm --silent runtrace retention show [--org <org-id>]
 *   pnpm --silent runtrace retention set --org <org-id> --days <N|off|default>
 *   pnpm --silent runtrace runs-from-spans show [--org <org-id>]
 *   pnpm --silent runtrace runs-from-spans set --org <org-id> --enabled <on|off>
 *   pnpm --silent runtrace prices list [--org <org-id>] [--defaults]
 *   pnpm --silent runtrace prices upsert [--org <org-id>] [--provider <p>] (--model <m> | --pattern <re>)
 *       --effective-from <iso> --input <usd/M> --output <usd/M> [--cached-input <usd/M>] [--cache-write <usd/M>]
 *       [--reasoning <usd/M>]
 *   pnpm --silent runtrace prices delete <price-id> [--org <org-id>]
 *   pnpm --silent runtrace prices recompute [--org <org-id>] --from <iso> --to <iso> [--model <m>]
 *   pnpm --silent runtrace analytics rebuild [--org <org-id>]
 *   pnpm --silent runtrace analytics backfill-clickhouse --from <time> --to <time> [--org <org-id>]
 *
 * Add --json for machine-readable output. It uses the same database settings as the api (DATABASE_URL, or PGlite
 * in RUNTRACE_DATA_DIR, which only one process may open at a time: stop the api first, or use a server).
 */
import { parseArgs } from 'node:util';
import {
  createLogger,
  createRuntime,
  DEFAULT_ORGANIZATION_ID,
  DEFAULT_USER_ID,
  DomainError,
  type RetentionSetting,
  type Runtime,
  rebuildRollups,
  setRetentionInput,
} from '@runtrace/core';
import { ConfigError, loadApiConfig } from '@runtrace/core/config';
import type { PriceOutput } from '@runtrace/core/pricing';
import type { RunsFromSpansSetting } from '@runtrace/core/traces';
import { analyticsCommand } from './cli-analytics.ts';
import { migrateCommand } from './cli-migrate.ts';

const USAGE = `usage:
  pnpm --silent runtrace orgs create <name>
  pnpm --silent runtrace orgs list
  pnpm --silent runtrace keys create [--org <org-id>] [--name <name>]
  pnpm --silent runtrace keys list [--org <org-id>]
  pnpm --silent runtrace keys revoke <key-id>
  pnpm --silent runtrace migrate   (Postgres/PGlite and ClickHouse migrations, then exit)
  pnpm --silent runtrace retention show [--org <org-id>]
  pnpm --silent runtrace retention set --org <org-id> --days <N|off|default>
  pnpm --silent runtrace runs-from-spans show [--org <org-id>]
  pnpm --silent runtrace runs-from-spans set --org <org-id> --enabled <on|off>
      (an organization's GenAI spans become runs; api processes see a change within 10 s)
  pnpm --silent runtrace prices list [--org <org-id>] [--defaults]
  pnpm --silent runtrace prices upsert [--org <org-id>] [--provider <p>] (--model <m> | --pattern <re>)
      --effective-from <iso> --input <usd/M> --output <usd/M> [--cached-input <usd/M>] [--cache-write <usd/M>]
      [--reasoning <usd/M>]     (prices in USD per million tokens, e.g. 2.5)
  pnpm --silent runtrace prices delete <price-id> [--org <org-id>]
  pnpm --silent runtrace prices recompute [--org <org-id>] --from <iso> --to <iso> [--model <m>]
  pnpm --silent runtrace analytics rebuild [--org <org-id>]   (recount the analytics rollups from runs and steps)
  pnpm --silent runtrace analytics backfill-clickhouse --from <time> --to <time> [--org <org-id>]
options: --json  print JSON`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      org: { type: 'string' },
      name: { type: 'string' },
      days: { type: 'string' },
      enabled: { type: 'string' },
      defaults: { type: 'boolean' },
      provider: { type: 'string' },
      model: { type: 'string' },
      pattern: { type: 'string' },
      'effective-from': { type: 'string' },
      input: { type: 'string' },
      'cached-input': { type: 'string' },
      'cache-write': { type: 'string' },
      output: { type: 'string' },
      reasoning: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  const [resource, action, arg] = positionals;
  if (resource === 'migrate' && !values.help) {
    return migrateCommand((value, text) => console.log(values.json ? JSON.stringify(value, null, 2) : text));
  }
  if (values.help || !resource || !action) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  if (resource === 'analytics') {
    // Postgres and ClickHouse both, not the runtime: no api-side work to start
    return analyticsCommand(action, values, (value, text) =>
      console.log(values.json ? JSON.stringify(value, null, 2) : text),
    );
  }
  const config = loadApiConfig();
  // Keys and organizations live in Postgres only; an embedded ClickHouse admits one process, the running api.
  // The running api purges; a one-shot command must not start a retention pass of its own.
  const runtime = await createRuntime({
    config,
    logger: createLogger('warn', 'runtrace-cli'),
    clickhouse: false,
    retentionJob: false,
  });
  const print = (value: unknown, text: string) => console.log(values.json ? JSON.stringify(value, null, 2) : text);
  try {
    const auth = runtime.auth;
    const org = values.org ?? DEFAULT_ORGANIZATION_ID;
    if (resource === 'retention') return await retentionCommand(runtime, action, values.org, values.days, print);
    if (resource === 'runs-from-spans') {
      return await runsFromSpansCommand(runtime, action, values.org, values.enabled, print);
    }
    if (resource === 'prices') return await pricesCommand(runtime, action, arg, { ...values, org }, print);
    switch (`${resource} ${action}`) {
      case 'orgs create': {
        if (!arg) throw new UsageError('orgs create needs a name');
        const created = await auth.createOrganization(arg);
        print(
          created,
          `created organization ${created.id} (${created.name})\ncreate a key: pnpm runtrace keys create --org ${created.id}`,
        );
        return 0;
      }
      case 'orgs list': {
        const orgs = await auth.listOrganizations();
        print(orgs, orgs.map((o) => `${o.id}  ${o.name}  ${o.createdAt}`).join('\n'));
        return 0;
      }
      case 'keys create': {
        const key = await auth.createApiKey(org, values.name ?? 'default');
        print(
          key,
          `created API key ${key.id} for ${key.organizationId}\n\n  ${key.key}\n\nThis is the only time the key is shown; Runtrace stores only its hash.\nSend it as: Authorization: Bearer <key>`,
        );
        return 0;
      }
      case 'keys list': {
        const keys = await auth.listApiKeys(org);
        print(
          keys,
          keys.length
            ? keys
                .map((k) => `${k.id}  ${k.keyPrefix}…  ${k.name}  ${k.revokedAt ? `revoked ${k.revokedAt}` : 'active'}`)
                .join('\n')
            : `no keys for ${org}`,
        );
        return 0;
      }
      case 'keys revoke': {
        if (!arg) throw new UsageError('keys revoke needs a key id');
        const key = await auth.revokeApiKey(arg);
        print(key, `revoked ${key.id} (${key.keyPrefix}…)`);
        return 0;
      }
      case 'analytics rebuild': {
        const started = Date.now();
        await rebuildRollups(runtime.database.unboundedDb, org);
        print({ organizationId: org, ms: Date.now() - started }, `rebuilt the analytics rollups of ${org}`);
        return 0;
      }
      default:
        throw new UsageError(`unknown command: ${resource} ${action}`);
    }
  } finally {
    await runtime.close();
  }
}

/**
 * `retention show`: every organization's retention (or one's, with --org); `retention set`: an organization's
 * override, `--days N` (days), `off` (keep everything) or `default` (follow RUNTRACE_RETENTION_DAYS).
 */
async function retentionCommand(
  runtime: Runtime,
  action: string,
  org: string | undefined,
  days: string | undefined,
  print: (value: unknown, text: string) => void,
): Promise<number> {
  const line = (r: RetentionSetting) =>
    `${r.organizationId}  keeps ${r.effectiveDays === 'off' ? 'everything' : `${r.effectiveDays} days`}  (${
      r.override === null ? `default: ${r.defaultDays}` : `override: ${r.override}`
    })`;
  if (action === 'show') {
    const ids = org ? [org] : (await runtime.auth.listOrganizations()).map((o) => o.id);
    const settings = [];
    for (const id of ids) settings.push(await runtime.retention.getFor(id));
    print(org ? settings[0] : settings, settings.map(line).join('\n'));
    return 0;
  }
  if (action === 'set') {
    if (!org || days === undefined) throw new UsageError('retention set needs --org and --days');
    const value = days === 'off' ? 'off' : days === 'default' ? null : /^\d+$/.test(days) ? Number(days) : days;
    const input = setRetentionInput.safeParse({ days: value });
    if (!input.success) throw new UsageError('--days must be a whole number of days from 1 to 36500, off or default');
    const setting = await runtime.retention.setFor(org, input.data);
    print(setting, line(setting));
    return 0;
  }
  throw new UsageError(`unknown command: retention ${action}`);
}

/**
 * `runs-from-spans show`: whether each organization's (or one's, with --org) GenAI spans become runs;
 * `runs-from-spans set`: switches an organization on or off. Running api processes see the change within
 * RUNS_FROM_SPANS_CACHE_MS (they cache the flag).
 */
async function runsFromSpansCommand(
  runtime: Runtime,
  action: string,
  org: string | undefined,
  enabled: string | undefined,
  print: (value: unknown, text: string) => void,
): Promise<number> {
  const line = (s: RunsFromSpansSetting) => `${s.organizationId}  runs from spans ${s.enabled ? 'on' : 'off'}`;
  if (action === 'show') {
    const ids = org ? [org] : (await runtime.auth.listOrganizations()).map((o) => o.id);
    const settings = [];
    for (const id of ids) settings.push(await runtime.runsFromSpans.getFor(id));
    print(org ? settings[0] : settings, settings.map(line).join('\n'));
    return 0;
  }
  if (action === 'set') {
    if (!org || enabled === undefined) throw new UsageError('runs-from-spans set needs --org and --enabled');
    const value = ({ on: true, true: true, off: false, false: false } as Record<string, boolean>)[enabled];
    if (value === undefined) throw new UsageError('--enabled must be on or off');
    const setting = await runtime.runsFromSpans.setFor(org, { enabled: value });
    print(setting, line(setting));
    return 0;
  }
  throw new UsageError(`unknown command: runs-from-spans ${action}`);
}

/** `prices list|upsert|delete|recompute` for one organization (the default one without --org). */
async function pricesCommand(
  runtime: Runtime,
  action: string,
  arg: string | undefined,
  values: Record<string, string | boolean | undefined> & { org: string },
  print: (value: unknown, text: string) => void,
): Promise<number> {
  const actor = { organizationId: values.org, userId: DEFAULT_USER_ID };
  const text = (name: string) => values[name] as string | undefined;
  const line = (p: PriceOutput) =>
    `${p.id}  ${p.provider ?? '*'}  ${p.model ?? `/${p.modelPattern}/`}  from ${p.effectiveFrom}  in ${p.input}  cached ${
      p.cachedInput ?? '-'
    }  write ${p.cacheWrite ?? '-'}  out ${p.output}  reasoning ${p.reasoning ?? '(output)'}`;
  switch (action) {
    case 'list': {
      const { items } = await runtime.prices.list(actor, { includeDefaults: values.defaults === true });
      print(
        items,
        items.length ? items.map(line).join('\n') : `no prices of ${values.org} (--defaults lists the shipped ones)`,
      );
      return 0;
    }
    case 'upsert': {
      const price = await runtime.prices.upsert(actor, {
        provider: text('provider'),
        model: text('model'),
        modelPattern: text('pattern'),
        effectiveFrom: text('effective-from') as string,
        input: text('input') as string,
        cachedInput: text('cached-input'),
        cacheWrite: text('cache-write'),
        output: text('output') as string,
        reasoning: text('reasoning'),
      });
      print(price, `saved ${line(price)}`);
      return 0;
    }
    case 'delete': {
      if (!arg) throw new UsageError('prices delete needs a price id');
      const price = await runtime.prices.delete(actor, { priceId: arg });
      print(price, `deleted ${line(price)}`);
      return 0;
    }
    case 'recompute': {
      const range = { from: text('from') as string, to: text('to') as string, model: text('model') };
      // In rounds of 20 batches, so a long recompute shows progress (on stderr: --json keeps stdout to the result).
      let result = await runtime.prices.recompute(actor, { ...range, maxBatches: 20 });
      while (!result.done) {
        console.error(`  ${result.stepsDone.toLocaleString('en-US')} steps re-priced …`);
        result = await runtime.prices.recompute(actor, { ...range, maxBatches: 20 });
      }
      print(result, `recompute ${result.id}: ${result.stepsDone} steps re-priced`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command: prices ${action}`);
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) console.error(`${err.message}\n${USAGE}`);
    else if (err instanceof DomainError || err instanceof ConfigError) console.error(`error: ${err.message}`);
    else if ((err as { issues?: unknown }).issues) console.error(`error: ${(err as Error).message}`);
    else console.error(err);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
