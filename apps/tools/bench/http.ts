import http from 'node:http';

/**
 * HTTP as a load generator speaks it (wrk, autocannon): keep-alive requests of exactly what the typed client sends,
 * each response read to its end and its status checked, never parsed. The service's latency is measured, not the
 * load generator's (a tRPC client's own CPU per call is enough to saturate a small machine by itself).
 */
export function keepAliveAgent(sockets: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: sockets });
}

/** One GET; a status other than 200 rejects. */
export function get(agent: http.Agent, url: URL): Promise<void> {
  return send(http.get(url, { agent }), url);
}

/** One POST of a JSON body; a status other than 200 rejects. */
export function postJson(agent: http.Agent, url: URL, body: string): Promise<void> {
  const request = http.request(url, {
    agent,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  request.end(body);
  return send(request, url);
}

function send(request: http.ClientRequest, url: URL): Promise<void> {
  return new Promise((resolve, reject) => {
    request.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        // Only an error's body is kept, to say what went wrong.
        if (response.statusCode !== 200 && text.length < 500) text += chunk;
      });
      response.on('error', reject);
      response.on('end', () =>
        response.statusCode === 200
          ? resolve()
          : reject(new Error(`${request.method} ${url.pathname}: HTTP ${response.statusCode} ${text.slice(0, 300)}`)),
      );
    });
    request.on('error', reject);
  });
}
