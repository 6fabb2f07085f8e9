import crypto from 'node:crypto';
import http from 'node:http';
import { Client } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { metricsContentType, metricsText } from '../metrics';
import { METRICS_CHALLENGE, metricsScrapeAllowed, openMetricsWarning } from '../metrics/token';
import type { Knex } from 'knex';
import type { Config } from '../config';
import { scheduleCachePruning } from '../llm/cache';
import { scheduleLedgerSweep } from '../llm/ledger-sweep';
import { systemResolve, type ResolveHost } from '../llm/providers/egress';
import { createSwitcher, type Switcher } from '../llm/switcher';
import type { Logger } from '../logger';
import { scheduleConflictSweep } from '../tasks/conflict-sweep';
import { installTemporalRuntime } from '../temporal/runtime';
import { createWorkers, runWorkers } from '../temporal/worker';
import type { WorkflowBundleOption } from '@temporalio/worker';
import { SharedRateLimiter } from '../llm/shared-rate-limiter';

/** The workers' switcher: engine rows reused for 2 s, as a batch asks for the same route for every item. */
export function createWorkerSwitcher(config: Config, db: Knex, logger?: Logger, resolveHost: ResolveHost = systemResolve): Switcher {
  return createSwitcher({
    db,
    timeoutMs: config.LLM_TIMEOUT_MS,
    engineCacheMs: 2000,
    logger,
    retry: { maxRetries: config.LLM_RETRIES_PER_ENGINE },
    ledgerSettleMarginMs: config.LLM_LEDGER_SETTLE_MARGIN_MS,
    egress: { policy: config.engineHostPolicy, resolve: resolveHost },
    // An engine's rate limit is its API key's: every process takes from the same buckets.
    rateLimiter: new SharedRateLimiter(db, (err) => logger?.warn({ err }, 'rate limit bucket not updated')),
  });
}

/** Builds this process's Temporal workers (workflows + activities) on a given connection. */
export async function buildWorkers(
  config: Config,
  db: Knex,
  connection: NativeConnection,
  workflowBundle?: WorkflowBundleOption,
  switcher: Switcher = createWorkerSwitcher(config, db),
): Promise<Worker[]> {
  return createWorkers({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    llmTaskQueue: config.TEMPORAL_LLM_TASK_QUEUE,
    db,
    switcher,
    llmConcurrency: config.LLM_CONCURRENCY,
    qualityMinPairableValues: config.QUALITY_MIN_PAIRABLE_VALUES,
    workflowBundle,
    workflowBundlePath: config.WORKFLOW_BUNDLE_PATH,
    maxCachedWorkflows: config.TEMPORAL_MAX_CACHED_WORKFLOWS,
  });
}

/** `anno worker`: runs until SIGINT/SIGTERM (the SDK drains in-flight tasks on shutdown). */
export async function runWorkerProcess(config: Config, db: Knex, logger: Logger): Promise<void> {
  if (!config.TEMPORAL_ADDRESS) throw new Error('TEMPORAL_ADDRESS is required for `anno worker`');
  installTemporalRuntime(logger, { metricsBindAddress: config.temporalMetricsBind });
  if (config.temporalMetricsBind) logger.info(`Temporal SDK metrics on http://${config.temporalMetricsBind}/metrics`);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const switcher = createWorkerSwitcher(config, db, logger);
  const workers = await buildWorkers(config, db, connection, undefined, switcher);
  const metricsServer = config.WORKER_METRICS_PORT ? await serveMetrics(config.WORKER_METRICS_PORT, config.HOST, config.METRICS_TOKEN) : undefined;
  const metricsWarning = metricsServer && openMetricsWarning(config);
  if (metricsWarning) logger.warn(metricsWarning);
  const stopPruning = scheduleCachePruning(db, logger);
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const stopConflictSweep = scheduleConflictSweep(db, client, config, logger, config.CONFLICT_SWEEP_INTERVAL_MS);
  const stopLedgerSweep = scheduleLedgerSweep(db, logger, config.LLM_LEDGER_SWEEP_INTERVAL_MS);
  logger.info(`worker polling ${config.TEMPORAL_TASK_QUEUE} and ${config.TEMPORAL_LLM_TASK_QUEUE} on ${config.TEMPORAL_ADDRESS}`);
  try {
    await runWorkers(workers);
  } finally {
    stopPruning();
    stopConflictSweep();
    stopLedgerSweep();
    metricsServer?.close();
    await switcher.flush(); // cache entries written behind answers
    await connection.close();
  }
}

/**
 * The worker has no API: its LLM and job counters are served on a port of their own, behind
 * METRICS_TOKEN as the API's are (401 in the API's error shape).
 */
export async function serveMetrics(port: number, host: string, token: string | undefined): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    if (!metricsScrapeAllowed(req.headers.authorization, token)) {
      const error = { code: 'UNAUTHORIZED', message: 'GET /metrics requires Authorization: Bearer <METRICS_TOKEN>', details: [], correlation_id: crypto.randomUUID(), timestamp: new Date().toISOString() };
      res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': METRICS_CHALLENGE }).end(JSON.stringify({ error }));
      return;
    }
    metricsText().then(
      (text) => res.writeHead(200, { 'Content-Type': metricsContentType }).end(text),
      (err) => res.writeHead(500).end(String(err)),
    );
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return server;
}
