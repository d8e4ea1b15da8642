/**
 * `pnpm watch-run <runId>` (or `pnpm --silent runtrace-watch <runId>`): follows a background run's live stream in the
 * terminal through the typed client (`runs.stream` over SSE), tokens inline as they arrive, until the run ends.
 *
 *   pnpm watch-run run-8d3f…                       # from the first event
 *   pnpm watch-run run-8d3f… --from 120            # events after seq 120
 *   pnpm watch-run run-8d3f… --url http://127.0.0.1:18400 --api-key rt_…
 */

import { parseArgs } from 'node:util';
import { createRuntraceClient, isRunStreamEvent, isTRPCClientError } from '@runtrace/client';
import { ConfigError, loadToolConfig } from '@runtrace/core/config';
import { ansiStyle, plainStyle, type RenderableEvent, renderEnd, renderEvent } from './watch-render.ts';

const USAGE = `pnpm watch-run <runId> [options]      (also: pnpm --silent runtrace-watch <runId>)

Prints a background run's events as they stream: assistant and reasoning tokens inline, tool calls, the stop reason
and usage; ends when the run's stream ends (exit 0), or on an error (exit 1).

  --url <url>        the api (default RUNTRACE_URL or http://127.0.0.1:8283)
  --api-key <key>    an API key (default RUNTRACE_API_KEY; none → the default organization)
  --from <seq>       start after this event sequence number (default 0: from the first event)
  --pings            also print the server's keepalive pings while the run is quiet
  --json             one JSON object per event (NDJSON: the event with its stream position as eventId) instead of text`;

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values: flags, positionals } = parsed;
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const runId = positionals[0];
  if (!runId || positionals.length > 1) {
    console.error(`expected one run id\n\n${USAGE}`);
    return 2;
  }
  const from = flags.from === undefined ? 0 : Number(flags.from);
  if (!Number.isSafeInteger(from) || from < 0) {
    console.error(`--from must be a non-negative integer, got '${flags.from}'`);
    return 2;
  }
  const config = loadToolConfig();
  const url = flags.url ?? config.apiUrl;
  const apiKey = flags['api-key'] ?? config.apiKey;
  const client = createRuntraceClient({ url, apiKey });
  const tty = process.stdout.isTTY && !flags.json;
  const style = tty ? ansiStyle : plainStyle;
  const state = { open: null as string | null };
  const write = (text: string) => process.stdout.write(text);
  const note = (text: string) => {
    if (flags.json) return;
    write(renderEnd(state));
    process.stderr.write(`${style.dim(text)}\n`);
  };

  try {
    const run = await client.runs.retrieve.query({ runId });
    note(
      `watching ${run.id} (agent ${run.agentId}, status ${run.status}) on ${url}${from ? `, after event ${from}` : ''}`,
    );
  } catch (err) {
    console.error(describe(err));
    return 1;
  }

  let events = 0;
  return await new Promise<number>((resolve) => {
    const subscription = client.runs.stream.subscribe(
      { runId, startingAfter: from, includePings: Boolean(flags.pings) },
      {
        onData(data) {
          if (!isRunStreamEvent(data)) {
            if (flags.json) write(`${JSON.stringify(data)}\n`);
            else note(`· ping ${new Date().toISOString()}`);
            return;
          }
          events++;
          const event: RenderableEvent = data.data;
          write(flags.json ? `${JSON.stringify({ eventId: data.id, ...event })}\n` : renderEvent(event, state, style));
        },
        onConnectionStateChange(change) {
          if (change.state === 'connecting' && change.error)
            note(`connection lost (${change.error.message}); reconnecting …`);
        },
        onError(err) {
          write(renderEnd(state));
          console.error(describe(err));
          resolve(1);
        },
        onComplete() {
          note(`stream ended after ${events} event${events === 1 ? '' : 's'}`);
          resolve(0);
        },
      },
    );
    const stop = () => {
      subscription.unsubscribe();
      note('stopped');
      resolve(130);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

function parse() {
  const args = process.argv.slice(2);
  return parseArgs({
    args: args[0] === '--' ? args.slice(1) : args,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      url: { type: 'string' },
      'api-key': { type: 'string' },
      from: { type: 'string' },
      pings: { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
}

function describe(err: unknown): string {
  if (isTRPCClientError(err)) return `${err.data?.code ?? 'ERROR'}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  },
);
