import { createHmac } from 'node:crypto';
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** Addresses a callback may not reach unless explicitly allowed: loopback, private, link-local, CGNAT, unspecified. */
const privateRanges = new net.BlockList();
for (const [address, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const) {
  privateRanges.addSubnet(address, prefix, 'ipv4');
}
for (const [address, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
] as const) {
  privateRanges.addSubnet(address, prefix, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
  const mapped = family === 'ipv6' ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address) : null;
  if (mapped?.[1]) return privateRanges.check(mapped[1], 'ipv4');
  return privateRanges.check(address, family);
}

export interface CallbackResult {
  sentAt: Date;
  statusCode: number | null;
  error: string | null;
}

export interface CallbackOptions {
  /** HMAC-SHA256 key; when set, `X-Runtrace-Signature: t=<unix seconds>,v1=<hex of HMAC("t.body")>` is sent. */
  secret?: string | undefined;
  /** Allow loopback and private addresses. @default false */
  allowPrivate?: boolean;
  /** @default 5000 */
  timeoutMs?: number;
}

/**
 * POSTs `body` as JSON to `url`. Never throws: the outcome is returned so it can be stored on the run.
 * The address check happens inside the connection's own DNS lookup, so a name cannot resolve to a public
 * address for the check and a private one for the request.
 */
export function postCallback(url: string, body: unknown, options: CallbackOptions = {}): Promise<CallbackResult> {
  const sentAt = new Date();
  const payload = JSON.stringify(body);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(payload)),
    'user-agent': 'runtrace-callback/1',
  };
  if (options.secret) {
    const t = Math.floor(sentAt.getTime() / 1000);
    const mac = createHmac('sha256', options.secret).update(`${t}.${payload}`).digest('hex');
    headers['x-runtrace-signature'] = `t=${t},v1=${mac}`;
  }
  return new Promise((resolve) => {
    const done = (statusCode: number | null, error: string | null) => resolve({ sentAt, statusCode, error });
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      done(null, 'invalid callback URL');
      return;
    }
    const literal = target.hostname.replace(/^\[|\]$/g, '');
    if (!options.allowPrivate && net.isIP(literal) && isPrivateAddress(literal)) {
      done(null, `refused: ${literal} is a private or loopback address`);
      return;
    }
    const lookup: net.LookupFunction = (hostname, lookupOptions, callback) => {
      dns.lookup(hostname, { ...lookupOptions, all: true }, (err, addresses) => {
        if (err) return callback(err, '', 0);
        const list = addresses as dns.LookupAddress[];
        const blocked = options.allowPrivate ? undefined : list.find((a) => isPrivateAddress(a.address));
        if (blocked) {
          return callback(new Error(`refused: ${hostname} resolves to private address ${blocked.address}`), '', 0);
        }
        if (lookupOptions.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
        const first = list[0];
        if (!first) return callback(new Error(`no address for ${hostname}`), '', 0);
        callback(null, first.address, first.family);
      });
    };
    const transport = target.protocol === 'https:' ? https : http;
    const req = transport.request(target, {
      method: 'POST',
      headers,
      lookup,
      timeout: options.timeoutMs ?? 5000,
    });
    req.on('response', (res) => {
      res.resume();
      done(res.statusCode ?? null, null);
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${options.timeoutMs ?? 5000} ms`)));
    req.on('error', (err) => done(null, err.message));
    req.end(payload);
  });
}
