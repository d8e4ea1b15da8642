import http from 'node:http';
import https from 'node:https';
import type { SseTransport } from './sse-transport.ts';

/**
 * The transport over node:http(s): the body's `data` events decoded by the socket's own UTF-8 decoder, without the
 * web streams undici's fetch puts between the socket and the reader (a promise and a stream chunk per read).
 */
export const nodeSseTransport: SseTransport = (url, headers, handler) => {
  let closed = false;
  const fail = (error: unknown) => {
    if (closed) return;
    closed = true;
    handler.error(error);
  };
  const request = (url.startsWith('https:') ? https : http).get(url, { headers }, (response) => {
    if (closed) return;
    const contentType = response.headers['content-type'] ?? '';
    if (!handler.response(response.statusCode ?? 0, contentType) || closed) {
      closed = true;
      response.resume();
      request.destroy();
      return;
    }
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      if (!closed) handler.text(chunk);
    });
    response.on('end', () => {
      if (closed) return;
      closed = true;
      handler.end();
    });
    response.on('error', fail);
    response.on('aborted', () => fail(new Error('terminated: other side closed')));
    response.on('close', () => fail(new Error('terminated: other side closed')));
  });
  request.on('error', fail);
  return {
    close() {
      if (closed) return;
      closed = true;
      request.destroy();
    },
  };
};
