import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { scheduleCachePruning } from '../llm/cache';
import { scheduleConflictSweep } from '../tasks/conflict-sweep';
import { scheduleLedgerSweep } from '../llm/ledger-sweep';
import { resolveTemporalCli } from '../temporal/cli-binary';
import { startDevServer } from '../temporal/dev-server';
import { stopStaleDevServers } from '../temporal/stale-dev-server';
import { installTemporalRuntime } from '../temporal/runtime';
import { runWorkers } from '../temporal/worker';
import { startApi, untilSignal } from './api';
import { buildWorkers } from './worker';

/**
 * `anno dev` (`npm start`): everything in one process on embedded defaults — the Temporal
 * dev server (unless TEMPORAL_ADDRESS is set), the workers and the API.
 */
export async function runDevProcess(config: Config, db: Knex, logger: Logger): Promise<void> {
  installTemporalRuntime(logger, { metricsBindAddress: config.temporalMetricsBind });
  let address = config.TEMPORAL_ADDRESS;
  let stopServer: (() => Promise<void>) | undefined;
  let uiUrl = config.temporalUiUrl;
  if (!address) {
    const cliPath = resolveTemporalCli({ explicitPath: config.TEMPORAL_CLI_PATH, log: (m) => logger.info(m) });
    const dbFilename = path.join(config.dataDir, 'temporal.sqlite');
    // A killed `anno dev` leaves its dev server running on this history file and ports.
    await stopStaleDevServers(dbFilename, (m) => logger.warn(m));
    logger.info({ cliPath: cliPath ?? '(SDK download)' }, 'starting the Temporal dev server');
    const env = await startDevServer({
      cliPath,
      dbFilename,
      namespace: config.TEMPORAL_NAMESPACE,
      uiPort: config.TEMPORAL_UI_PORT,
    });
    address = env.address;
    stopServer = () => env.teardown();
    uiUrl = config.TEMPORAL_UI_URL ?? `http://localhost:${config.TEMPORAL_UI_PORT}`;
  }
  const devConfig: Config = { ...config, TEMPORAL_ADDRESS: address, temporalUiUrl: uiUrl };

  const nativeConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const workers = await buildWorkers(devConfig, db, nativeConnection);
  const api = await startApi(devConfig, db, logger, connection, { devSignIn: true });
  const stopPruning = scheduleCachePruning(db, logger);
  const sweepClient = new Client({ connection, namespace: devConfig.TEMPORAL_NAMESPACE });
  const stopConflictSweep = scheduleConflictSweep(db, sweepClient, devConfig, logger, devConfig.CONFLICT_SWEEP_INTERVAL_MS);
  const stopLedgerSweep = scheduleLedgerSweep(db, logger, config.LLM_LEDGER_SWEEP_INTERVAL_MS);
  const stop = untilSignal();
  const running = runWorkers(workers, stop);

  logger.info(
    { api: api.url, docs: `${api.url}/openapi.json`, temporal_ui: uiUrl, temporal: address, temporal_metrics: temporalMetricsUrl(config) },
    'annotation orchestrator is up',
  );
  process.stdout.write(
    `\n  Web app      ${api.url}/app  (development sign-in on)\n  API          ${api.url}/api/v1\n  OpenAPI      ${api.url}/openapi.json\n  Temporal UI  ${uiUrl}\n  Temporal     ${address}\n` +
      `  SDK metrics  ${temporalMetricsUrl(config) ?? 'off (TEMPORAL_METRICS_BIND)'}\n\n` +
      `  Mint a token: npm run anno -- token --tenant demo --sub me --roles admin\n\n`,
  );
  await stop;
  logger.info('shutting down');
  stopConflictSweep();
  await api.close();
  await running;
  stopPruning();
  stopLedgerSweep();
  await nativeConnection.close();
  await connection.close();
  await stopServer?.();
}

/** The Temporal SDK's Prometheus endpoint, as an operator would open it (0.0.0.0 → localhost). */
function temporalMetricsUrl(config: Config): string | undefined {
  if (!config.temporalMetricsBind) return undefined;
  return `http://${config.temporalMetricsBind.replace(/^0\.0\.0\.0:|^\[::\]:/, 'localhost:')}/metrics`;
}
