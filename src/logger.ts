import pino, { type Logger } from 'pino';
import type { Config } from './config';

export type { Logger };

/**
 * One JSON logger per process; request handlers log through `logger.child({ correlation_id })`
 * so every line of a request can be found from the id the client saw.
 */
export function createLogger(config: Pick<Config, 'LOG_LEVEL' | 'NODE_ENV'>, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level: config.LOG_LEVEL,
    base: { service: 'annotation-orchestrator', env: config.NODE_ENV, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Tokens and keys must never reach the log, whatever object a caller hands over.
    redact: {
      paths: ['authorization', 'headers.authorization', 'req.headers.authorization', '*.api_key', '*.apiKey', '*.token'],
      censor: '[redacted]',
    },
  });
}
