/** A plain-text table for terminals and issue comments: right-aligned numbers, a rule under the header. */
export interface Column {
  header: string;
  /** @default 'right' */
  align?: 'left' | 'right';
}

export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (value: string, i: number) => {
    const w = widths[i] ?? 0;
    return columns[i]?.align === 'left' ? value.padEnd(w) : value.padStart(w);
  };
  const line = (values: readonly string[]) =>
    columns
      .map((_, i) => cell(values[i] ?? '', i))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join(
    '\n',
  );
}
