import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SLICES } from './config-slices.ts';
import {
  ENV_EXAMPLES,
  README_PATH,
  renderConfigTable,
  renderEnvExample,
  replaceConfigTable,
  TABLE_END,
  TABLE_START,
} from './config-table.ts';
import { VARIABLES } from './config-variables.ts';

describe("README's configuration table", () => {
  it('is what the schemas generate (run `pnpm docs:config` after changing a variable)', () => {
    const readme = readFileSync(README_PATH, 'utf8');
    expect(readme).toContain(TABLE_START);
    expect(replaceConfigTable(readme)).toBe(readme);
  });

  it('lists every variable once, under the processes that read it', () => {
    const table = renderConfigTable();
    for (const name of Object.keys(VARIABLES)) {
      expect(table.match(new RegExp(`\`${name}\``, 'g'))?.length ?? 0, name).toBeGreaterThanOrEqual(1);
      expect(table.match(new RegExp(`^\\| \`${name}\``, 'gm'))?.length ?? 0, name).toBeLessThanOrEqual(1);
    }
    for (const slice of SLICES) expect(table).toContain(`### ${slice.process}\n`);
    expect(table).toContain('| `LOG_LEVEL` | api, sidecar | `info` |');
    expect(table).toContain('| `RUNTRACE_STREAM_RETENTION_MS` | `10800000` (3 h) |');
    expect(table).toContain('| `RUNTRACE_SIDECAR_GZIP` | `1` |');
    expect(table).toContain('| `TELEMETRY_SOCKET` (alias `SOCKET_PATH`) | api, sidecar | unset → ');
  });

  it('is replaced between the markers only', () => {
    const text = `before\n${TABLE_START}\nstale\n${TABLE_END}\nafter\n`;
    expect(replaceConfigTable(text)).toBe(`before\n${TABLE_START}\n${renderConfigTable()}\n${TABLE_END}\nafter\n`);
    expect(() => replaceConfigTable('no markers')).toThrow(/config-table:start/);
  });
});

describe('.env.example of the api and the sidecar', () => {
  it.each(ENV_EXAMPLES.map((e) => [e.slice.process, e] as const))(
    '%s: is what the schemas generate (run `pnpm docs:config` after changing a variable)',
    (_process, { path, slice }) => {
      expect(readFileSync(path, 'utf8')).toBe(renderEnvExample(slice));
    },
  );

  it.each(ENV_EXAMPLES.map((e) => [e.slice.process, e] as const))(
    '%s: lists every variable the process reads once, with its default, and no secret value',
    (_process, { slice }) => {
      const text = renderEnvExample(slice);
      const assigned = [...text.matchAll(/^(?:# )?([A-Z_]+)=(.*)$/gm)].map((m) => [m[1], m[2]] as const);
      expect(assigned.map(([name]) => name)).toEqual(slice.variables);
      const values = Object.fromEntries(assigned);
      for (const secret of ['RUNTRACE_CALLBACK_SECRET', 'RUNTRACE_API_KEY', 'DATABASE_URL', 'REDIS_URL']) {
        if (secret in values) expect(values[secret], secret).toBe('');
      }
      expect(Object.values(values).join(' ')).not.toMatch(/:\/\/[^ ]*@/); // no credentials in any URL
    },
  );

  it('gives the api its defaults and the sidecar only its own variables', () => {
    const [api, sidecar] = ENV_EXAMPLES.map((e) => renderEnvExample(e.slice));
    expect(api).toContain('\nNODE_ENV=production\n');
    expect(api).toContain('\nRUNTRACE_STREAM_RETENTION_MS=10800000\n');
    expect(api).toContain('\n# DATABASE_URL=\n');
    expect(sidecar).toContain('\nRUNTRACE_SIDECAR_GZIP=1\n');
    expect(sidecar).not.toContain('DATABASE_URL');
  });
});

describe('turbo', () => {
  it('passes every variable through to the tasks it runs (CONTRACTS §1)', () => {
    const turbo = JSON.parse(readFileSync(fileURLToPath(new URL('../../../turbo.json', import.meta.url)), 'utf8')) as {
      globalPassThroughEnv: string[];
    };
    const missing = Object.keys(VARIABLES).filter((name) => !turbo.globalPassThroughEnv.includes(name));
    expect(missing).toEqual([]);
  });
});
