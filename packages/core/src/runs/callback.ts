import { createHmac } from 'node:crypto';
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Why a callback may not go to `address`: the name of the special-purpose range it is in (ipaddr.js's list, which
 * follows the IANA IPv4 and IPv6 special-purpose registries), or null for a global unicast address, the only kind
 * allowed. An IPv4-mapped IPv6 address is the IPv4 host itself and is judged as that; every other way of carrying an
 * IPv4 address inside IPv6 (NAT64, 6to4, Teredo, SIIT) is refused whatever it carries, since the gateway decides where
 * it ends up. ipaddr.js files the deprecated IPv4-compatible form (::a.b.c.d, RFC 4291) under unicast: it is refused
 * here, as it is not routable and some stacks deliver it to the embedded IPv4 address.
 */
export function blockedRange(address: string): string | null {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(net.isIPv6(address) ? canonicalIPv6(address) : address);
  } catch {
    return 'unparseable';
  }
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  const range = ip.range();
  if (range !== 'unicast') return range;
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).parts.slice(0, 6).every((part) => part === 0))
    return 'ipv4Compatible';
  return null;
}

/**
 * The address as WHATWG URL parsing writes it, zone dropped (it does not change the range): ipaddr.js reads the
 * dotted IPv4-compatible form "::127.0.0.1", as getaddrinfo prints it, as IPv4-mapped.
 */
function canonicalIPv6(address: string): string {
  return new URL(`http://[${address.replace(/%.*$/, '')}]/`).hostname.slice(1, -1);
}

export interface CallbackResult {
  sentAt: Date;
  statusCode: number | null;
  error: string | null;
}

export interface CallbackOptions {
  /** HMAC-SHA256 key; when set, `X-Runtrace-Signature: t=<unix seconds>,v1=<hex of HMAC("t.body")>` is sent. */
  secret?: string | undefined;
  /** Allow every address, loopback, private and special-purpose ones included (RUNTRACE_CALLBACK_ALLOW_PRIVATE). @default false */
  allowPrivate?: boolean;
  /**
   * Resolves a host name to all of its addresses; each is checked, and the connection goes to the checked ones.
   * @default dns.lookup with `all: true`
   */
  resolve?: (hostname: string) => Promise<dns.LookupAddress[]>;
  /** @default 5000 */
  timeoutMs?: number;
}

/**
 * POSTs `body` as JSON to `url`. Never throws: the outcome is returned so it can be stored on the run.
 * The address check happens inside the connection's own DNS lookup: the name is resolved once, every address it
 * resolves to is checked, and the connection goes to those addresses, so a name cannot resolve to a public address
 * for the check and a private one for the request (DNS rebinding).
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
  return new Promise((settle) => {
    const done = (statusCode: number | null, error: string | null) => settle({ sentAt, statusCode, error });
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      done(null, 'invalid callback URL');
      return;
    }
    const literal = target.hostname.replace(/^\[|\]$/g, '');
    const literalRange = options.allowPrivate || !net.isIP(literal) ? null : blockedRange(literal);
    if (literalRange) {
      done(null, `refused: ${literal} is in a special-purpose range (${literalRange})`);
      return;
    }
    const resolve =
      options.resolve ?? ((hostname: string) => dns.promises.lookup(hostname, { all: true, verbatim: true }));
    const lookup: net.LookupFunction = (hostname, lookupOptions, callback) => {
      const fail = (err: Error) => callback(err as NodeJS.ErrnoException, '', 0);
      resolve(hostname).then((list) => {
        for (const { address } of options.allowPrivate ? [] : list) {
          const range = blockedRange(address);
          if (range)
            return fail(
              new Error(`refused: ${hostname} resolves to ${address}, in a special-purpose range (${range})`),
            );
        }
        if (lookupOptions.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
        const first = list.find((a) => !lookupOptions.family || a.family === lookupOptions.family);
        if (!first) return fail(new Error(`no address for ${hostname}`));
        callback(null, first.address, first.family);
      }, fail);
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
