/**
 * Money in Runtrace is an integer count of pico-USD (1e-12 USD): a price per million tokens with up to six decimals
 * is a whole number of pico-USD per token, so cost = tokens × price is exact, and sums stay exact in bigint and in
 * Postgres numeric / ClickHouse Int128. It is written out as a USD decimal string, never as a float.
 */
export const PUSD_PER_USD = 1_000_000_000_000n;
/** Decimals of a price per million tokens that still give whole pico-USD per token. */
export const PRICE_DECIMALS = 6;

/** `pusd` as a USD decimal string without trailing zeros: 1234500000n → "0.0012345", 0n → "0". */
export function formatUsd(pusd: bigint): string {
  const negative = pusd < 0n;
  const abs = negative ? -pusd : pusd;
  const whole = abs / PUSD_PER_USD;
  const fraction = (abs % PUSD_PER_USD).toString().padStart(12, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

const PRICE_TEXT = new RegExp(`^\\d{1,12}(?:\\.\\d{1,${PRICE_DECIMALS}})?$`);

/**
 * A price in USD per million tokens ("2.5", "0.075") as pico-USD per token, or null when the text is not a
 * non-negative decimal with at most {@link PRICE_DECIMALS} decimals.
 */
export function parsePricePerMillion(text: string): bigint | null {
  if (!PRICE_TEXT.test(text)) return null;
  const [whole = '0', fraction = ''] = text.split('.');
  return BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(PRICE_DECIMALS, '0'));
}

/** Pico-USD per token back to USD per million tokens, as {@link parsePricePerMillion} reads it. */
export function formatPricePerMillion(ppt: bigint): string {
  const whole = ppt / 1_000_000n;
  const fraction = (ppt % 1_000_000n).toString().padStart(PRICE_DECIMALS, '0').replace(/0+$/, '');
  return `${whole}${fraction ? `.${fraction}` : ''}`;
}
