import { Runtime, type LogLevel, type LogMetadata, type Logger as SdkLogger } from '@temporalio/worker';
import type { Logger } from 'pino';

let installed = false;

export interface TemporalRuntimeOptions {
  /**
   * Where the SDK's core serves its metrics in Prometheus format (`ip:port`, GET /metrics):
   * task slots, pollers, schedule-to-start latencies. Unset: no metrics exporter.
   */
  metricsBindAddress?: string;
}

/**
 * Routes the Temporal SDK's own logs (worker state, core) into our pino logger, so one
 * LOG_LEVEL governs everything, and exports the core's metrics when asked. The SDK allows this
 * once per process, before any worker; a later call changes nothing. An address already in use
 * throws here, at start.
 */
export function installTemporalRuntime(logger: Logger, options: TemporalRuntimeOptions = {}): void {
  if (installed) return;
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
  const metrics = options.metricsBindAddress ? { prometheus: { bindAddress: options.metricsBindAddress } } : undefined;
  Runtime.install({ logger: sdkLogger, telemetryOptions: metrics ? { metrics } : undefined });
  installed = true;
}
