import { fetchSseTransport } from './sse-transport.ts';

/**
 * The transport a client uses when it is given no `fetch`, in browsers (the `browser` condition of package.json
 * `imports`, `#default-sse-transport`): the global fetch, called at each request so that a later polyfill is used.
 */
export const defaultSseTransport = fetchSseTransport((input, init) => globalThis.fetch(input, init));
