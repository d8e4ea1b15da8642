import http from 'node:http';

/**
 * HTTP as a load generator speaks it (wrk, autocannon): keep-alive requests of exactly what the typed client sends,
 * each response read to its end and its status checked, never parsed. The service's latency is measured, not the
 * load generator's (a tRPC client's own CPU per call is enough to saturate a small machine by itself).
 */
export function keepAliveAgent(sockets: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: sockets });
}

/**
 * One GET; a status other than 200 rejects. Resolves with the body's bytes as they came over the wire (compressed
 * when `headers` accept a coding and the api used one).
 */
export function get(agent: http.Agent, url: URL, headers?: http.OutgoingHttpHeaders): Promise<number> {
  return send(http.get(url, { agent, headers }), url);
}

/** One POST of a JSON body (and `headers`); a status other than 200 rejects. */
export function postJson(
  agent: http.Agent,
  url: URL,
  body: string,
  headers?: http.OutgoingHttpHeaders,
): Promise<number> {
  const request = http.request(url, {
    agent,
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  request.end(body);
  return send(request, url);
}

function send(request: http.ClientRequest, url: URL): Promise<number> {
  return new Promise((resolve, reject) => {
    request.on('response', (response) => {
      let text = '';
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        // Only an error's body is kept, to say what went wrong.
        if (response.statusCode !== 200 && text.length < 500) text += chunk.toString('utf8');
      });
      response.on('error', reject);
      response.on('end', () =>
        response.statusCode === 200
          ? resolve(bytes)
          : reject(new Error(`${request.method} ${url.pathname}: HTTP ${response.statusCode} ${text.slice(0, 300)}`)),
      );
    });
    request.on('error', reject);
  });
}
