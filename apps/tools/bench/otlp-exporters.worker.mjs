// The traces bench's OTLP exporters, on a thread of their own (as agents export from processes of their own): the
// api's event loop serves the receiver, this one the exporters' clients. OTLP/HTTP: node:http with keep-alive, as
// the OpenTelemetry HTTP exporters use. OTLP/gRPC: @grpc/grpc-js clients, one connection each (as many agent
// processes would have), sending the pre-encoded request as the message (identity serializers: the SDK's encoding is
// the agent's cost). Messages: { id, scenario, index } → send the index-th body of that scenario; the answer is
// { id, status } (200 for OK over gRPC). Plain JavaScript: workers do not get the bench's TypeScript loader.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import grpc from '@grpc/grpc-js';

/** @type {{ url: string, grpcAddress: string | null, maxSockets: number, scenarios: Record<string, { bodies: Uint8Array[], type: string, gzip: boolean, transport?: 'http' | 'grpc' }> }} */
const { url, grpcAddress, maxSockets, scenarios } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets });
const target = new URL(url);

const GRPC_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const identity = (bytes) => bytes;
// One channel (connection) per exporter: a subchannel pool of its own each, or grpc-js would share one connection.
const grpcClients = grpcAddress
  ? Array.from(
      { length: maxSockets },
      () =>
        new grpc.Client(grpcAddress, grpc.credentials.createInsecure(), {
          'grpc.use_local_subchannel_pool': 1,
          'grpc.max_send_message_length': -1,
        }),
    )
  : [];
let nextClient = 0;

function sendGrpc(id, body) {
  const client = grpcClients[nextClient++ % grpcClients.length];
  const message = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  client.makeUnaryRequest(GRPC_EXPORT_PATH, identity, identity, message, new grpc.Metadata(), (err) =>
    parentPort.postMessage(
      err ? { id, status: 0, error: `${grpc.status[err.code]}: ${err.details}` } : { id, status: 200 },
    ),
  );
}

function sendHttp(id, body, type, gzip) {
  const headers = { 'content-type': type, 'content-length': body.length };
  if (gzip) headers['content-encoding'] = 'gzip';
  const req = http.request(target, { method: 'POST', agent, headers }, (res) => {
    res.resume();
    res.on('end', () => parentPort.postMessage({ id, status: res.statusCode }));
  });
  req.on('error', (err) => parentPort.postMessage({ id, status: 0, error: err.message }));
  req.end(body);
}

parentPort.on('message', ({ id, scenario, index }) => {
  const { bodies, type, gzip, transport } = scenarios[scenario];
  const body = bodies[index % bodies.length];
  if (transport === 'grpc') sendGrpc(id, body);
  else sendHttp(id, body, type, gzip);
});
