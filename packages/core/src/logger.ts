import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured logs; credentials are redacted wherever they appear. */
export function createLogger(level: string, name = 'runtrace'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'apiKey', 'key', '*.apiKey', 'databaseUrl', 'redisUrl'],
      censor: '[redacted]',
    },
  });
}
