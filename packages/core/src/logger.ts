import { type Logger, pino } from 'pino';
import { LogSink } from './log-sink.ts';

export type { Logger };

/** The process's stdout for logs (log-sink.ts): shutdown flushes it with a bound, never waits on its reader. */
export const stdoutSink = new LogSink({ fd: 1 });

/** Structured logs; credentials are redacted wherever they appear. */
export function createLogger(level: string, name = 'runtrace'): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: [
          'req.headers.authorization',
          'headers.authorization',
          'apiKey',
          'key',
          '*.apiKey',
          'databaseUrl',
          'redisUrl',
        ],
        censor: '[redacted]',
      },
    },
    stdoutSink,
  );
}
