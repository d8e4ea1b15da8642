/**
 * Runtrace administration: organizations and API keys.
 *
 *   pnpm --silent runtrace orgs create <name>
 *   pnpm --silent runtrace orgs list
 *   pnpm --silent runtrace keys create [--org <org-id>] [--name <name>]
 *   pnpm --silent runtrace keys list [--org <org-id>]
 *   pnpm --silent runtrace keys revoke <key-id>
 *   pnpm --silent runtrace migrate
 *
 * Add --json for machine-readable output. It uses the same database settings as the api (DATABASE_URL, or PGlite
 * in RUNTRACE_DATA_DIR, which only one process may open at a time: stop the api first, or use a server).
 */
import { parseArgs } from 'node:util';
import { createLogger, createRuntime, DEFAULT_ORGANIZATION_ID, DomainError } from '@runtrace/core';
import { ConfigError, loadApiConfig } from '@runtrace/core/config';
import { migrateCommand } from './cli-migrate.ts';

const USAGE = `usage:
  pnpm --silent runtrace orgs create <name>
  pnpm --silent runtrace orgs list
  pnpm --silent runtrace keys create [--org <org-id>] [--name <name>]
  pnpm --silent runtrace keys list [--org <org-id>]
  pnpm --silent runtrace keys revoke <key-id>
  pnpm --silent runtrace migrate   (Postgres/PGlite and ClickHouse migrations, then exit)
options: --json  print JSON`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      org: { type: 'string' },
      name: { type: 'string' },
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
  const config = loadApiConfig();
  // Keys and organizations live in Postgres only; an embedded ClickHouse admits one process, the running api.
  const runtime = await createRuntime({ config, logger: createLogger('warn', 'runtrace-cli'), clickhouse: false });
  const print = (value: unknown, text: string) => console.log(values.json ? JSON.stringify(value, null, 2) : text);
  try {
    const auth = runtime.auth;
    const org = values.org ?? DEFAULT_ORGANIZATION_ID;
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
      default:
        throw new UsageError(`unknown command: ${resource} ${action}`);
    }
  } finally {
    await runtime.close();
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
