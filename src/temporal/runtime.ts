import { Runtime, type LogLevel, type LogMetadata, type Logger as SdkLogger } from '@temporalio/worker';
import type { Logger } from 'pino';

let installed = false;

/**
 * Routes the Temporal SDK's own logs (worker state, core) into our pino logger, so one
 * LOG_LEVEL governs everything. The SDK allows this once per process, before any worker.
 */
export function installTemporalRuntime(logger: Logger): void {
  if (installed) return;
  installed = true;
  const sdkLogger: SdkLogger = {
    log: (level: LogLevel, message: string, meta?: LogMetadata) => {
      const pinoLevel = level === 'TRACE' ? 'trace' : level === 'DEBUG' ? 'debug' : level === 'INFO' ? 'info' : level === 'WARN' ? 'warn' : 'error';
      logger[pinoLevel]({ ...meta, component: 'temporal' }, message);
    },
    trace: (m, meta) => logger.trace({ ...meta, component: 'temporal' }, m),
    debug: (m, meta) => logger.debug({ ...meta, component: 'temporal' }, m),
    info: (m, meta) => logger.info({ ...meta, component: 'temporal' }, m),
    warn: (m, meta) => logger.warn({ ...meta, component: 'temporal' }, m),
    error: (m, meta) => logger.error({ ...meta, component: 'temporal' }, m),
  };
  Runtime.install({ logger: sdkLogger });
}
