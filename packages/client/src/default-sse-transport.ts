/**
 * The transport a client uses when it is given no `fetch`, in Node (package.json `imports`, `#default-sse-transport`):
 * node:http, the least CPU per event. Browsers and bundlers get default-sse-transport.browser.ts instead.
 */
export { nodeSseTransport as defaultSseTransport } from './node-sse-transport.ts';
