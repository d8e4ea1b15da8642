/** What a transport reports of one SSE request. */
export interface SseResponseHandler {
  /** The status and content type arrived; answer false to read no body (the request is then closed). */
  response(status: number, contentType: string): boolean;
  /** Decoded text of the body, in chunks split anywhere. */
  text(chunk: string): void;
  /** The server ended the body. */
  end(): void;
  /** The request failed or the body broke off (never called after {@link SseRequest.close}). */
  error(error: unknown): void;
}

export interface SseRequest {
  /** Aborts the request; the handler hears nothing more. */
  close(): void;
}

/** Opens one SSE request: a GET of `url` with `headers`. */
export type SseTransport = (url: string, headers: Record<string, string>, handler: SseResponseHandler) => SseRequest;

/**
 * The transport over a fetch implementation (browsers, or a `fetch` given to the client): the body read chunk by
 * chunk and decoded as UTF-8 across chunk boundaries, with the request options the EventSource ponyfill used.
 */
export function fetchSseTransport(doFetch: typeof fetch): SseTransport {
  return (url, headers, handler) => {
    const abort = new AbortController();
    const { signal } = abort;
    const init: RequestInit = { mode: 'cors', redirect: 'follow', headers, cache: 'no-store', signal };
    if ('window' in globalThis) init.credentials = 'same-origin';
    const read = async () => {
      const response = await doFetch(url, init);
      if (signal.aborted) return;
      const body = response.body;
      if (!handler.response(response.status, response.headers.get('content-type') ?? '') || signal.aborted) {
        await body?.cancel().catch(() => {});
        return;
      }
      if (!body) {
        handler.error(new Error('Invalid response body, expected a web ReadableStream'));
        return;
      }
      const reader = body.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const chunk = await reader.read();
        if (signal.aborted) return;
        if (chunk.done) break;
        const text = decoder.decode(chunk.value, { stream: true });
        if (text !== '') handler.text(text);
        if (signal.aborted) {
          await reader.cancel().catch(() => {});
          return;
        }
      }
      const rest = decoder.decode();
      if (rest !== '') handler.text(rest);
      if (!signal.aborted) handler.end();
    };
    read().catch((error: unknown) => {
      if (!signal.aborted) handler.error(error);
    });
    return { close: () => abort.abort() };
  };
}
