/**
 * A cost in USD (the api's exact decimal string) for display: cents for a dollar or more, four significant digits
 * below (a step often costs a fraction of a cent), `< $0.000001` for a dust amount, `—` when nothing was priced.
 */
export function formatUsd(usd: string | number | null | undefined): string {
  if (usd === null || usd === undefined || usd === '') return '—';
  const n = Number(usd);
  if (!Number.isFinite(n)) return '—';
  if (n === 0) return '$0.00';
  if (n >= 1) return `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  if (n < 0.000001) return '< $0.000001';
  return `$${n.toLocaleString('en-US', { maximumSignificantDigits: 4, maximumFractionDigits: 6 })}`;
}
