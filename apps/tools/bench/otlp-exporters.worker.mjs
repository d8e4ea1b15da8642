// The traces bench's OTLP exporters, on a thread of their own (as agents export from processes of their own): the
// api's event loop serves the receiver, this one the exporters' HTTP clients (node:http with keep-alive, as the
// OpenTelemetry exporters use). Messages: { id, scenario, index } → POST the index-th body of that scenario; the
// answer is { id, status }. Plain JavaScript: workers do not get the bench's TypeScript loader.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

/** @type {{ url: string, maxSockets: number, scenarios: Record<string, { bodies: Uint8Array[], type: string, gzip: boolean }> }} */
const { url, maxSockets, scenarios } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets });
const target = new URL(url);

parentPort.on('message', ({ id, scenario, index }) => {
  const { bodies, type, gzip } = scenarios[scenario];
  const body = bodies[index % bodies.length];
  const headers = { 'content-type': type, 'content-length': body.length };
  if (gzip) headers['content-encoding'] = 'gzip';
  const req = http.request(target, { method: 'POST', agent, headers }, (res) => {
    res.resume();
    res.on('end', () => parentPort.postMessage({ id, status: res.statusCode }));
  });
  req.on('error', (err) => parentPort.postMessage({ id, status: 0, error: err.message }));
  req.end(body);
});
