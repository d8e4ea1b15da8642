/** The content codings the api compresses answers with, in the order it prefers them when a client weighs them alike. */
export type ContentCoding = 'br' | 'gzip';

/**
 * The coding to send an answer in, by a request's `Accept-Encoding` (RFC 9110 §12.5.3), or null for the answer as it
 * is. Weights (`q`) decide; a coding the header does not name takes the weight of `*`, else 0; `identity` takes its
 * own weight, else `*`'s, else the lowest weight the header gives (as the `negotiator` package of Express does: a
 * client that names only codings prefers each of them to none). A coding is used only when it weighs at least as much
 * as `identity`; between `br` and `gzip` of equal weight, `br` (smaller and, at the qualities used, cheaper). No
 * header, or an empty one: null.
 */
export function negotiateContentCoding(header: string | string[] | undefined): ContentCoding | null {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (!value) return null;
  let br = -1;
  let gzip = -1;
  let identity = -1;
  let any = -1;
  let lowest = 1;
  for (const part of value.split(',')) {
    const semicolon = part.indexOf(';');
    const name = (semicolon < 0 ? part : part.slice(0, semicolon)).trim().toLowerCase();
    if (!name) continue;
    const q = semicolon < 0 ? 1 : weightOf(part.slice(semicolon + 1));
    lowest = Math.min(lowest, q);
    // A coding named twice counts with its highest weight.
    if (name === 'br') br = Math.max(br, q);
    else if (name === 'gzip' || name === 'x-gzip') gzip = Math.max(gzip, q);
    else if (name === 'identity') identity = Math.max(identity, q);
    else if (name === '*') any = Math.max(any, q);
  }
  const qBr = br >= 0 ? br : Math.max(any, 0);
  const qGzip = gzip >= 0 ? gzip : Math.max(any, 0);
  const qIdentity = identity >= 0 ? identity : any >= 0 ? any : lowest;
  const [coding, q] = qBr >= qGzip ? (['br', qBr] as const) : (['gzip', qGzip] as const);
  return q > 0 && q >= qIdentity ? coding : null;
}

/** The `q` of a coding's parameters (`q=0.5`, other parameters ignored); a malformed weight counts as 0. */
function weightOf(params: string): number {
  for (const param of params.split(';')) {
    const eq = param.indexOf('=');
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'q') continue;
    const text = param.slice(eq + 1).trim();
    // RFC 9110 §12.4.2: 0 to 1 with at most three decimals.
    return /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(text) ? Number(text) : 0;
  }
  return 1;
}
