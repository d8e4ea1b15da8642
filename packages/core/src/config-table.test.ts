import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SLICES } from './config-slices.ts';
import { README_PATH, renderConfigTable, replaceConfigTable, TABLE_END, TABLE_START } from './config-table.ts';
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

describe('turbo', () => {
  it('passes every variable through to the tasks it runs (CONTRACTS §1)', () => {
    const turbo = JSON.parse(readFileSync(fileURLToPath(new URL('../../../turbo.json', import.meta.url)), 'utf8')) as {
      globalPassThroughEnv: string[];
    };
    const missing = Object.keys(VARIABLES).filter((name) => !turbo.globalPassThroughEnv.includes(name));
    expect(missing).toEqual([]);
  });
});
