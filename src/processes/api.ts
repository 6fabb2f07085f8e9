import http from 'node:http';
import { Client, Connection } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { createApp } from '../api/app';
import { createApiServer } from '../api/server';
import type { Config } from '../config';
import { suggestionFeedbackMessage } from '../api/suggestions/ws-handler';
import { reviewDecisionMessage } from '../tasks/ws-handlers';
import { systemResolve, type ResolveHost } from '../llm/providers/egress';
import { createSwitcher } from '../llm/switcher';
import { attachWebSocketHub, type WebSocketHub } from '../ws/hub';
import { openMetricsWarning } from '../metrics/token';
import { SharedRateLimiter } from '../llm/shared-rate-limiter';

export interface RunningApi {
  server: http.Server;
  url: string;
  /** The WebSocket hub on `server` (handlers for WebSocket messages are set on it). */
  hub: WebSocketHub;
  close(): Promise<void>;
}

/**
 * The API's switcher: engine rows read on every call (an edited engine applies at once), recent
 * answers kept in memory so a repeated suggestion costs no cache round trip.
 */
export function createApiSwitcher(config: Config, db: Knex, logger?: Logger, resolveHost: ResolveHost = systemResolve) {
  return createSwitcher({
    db,
    timeoutMs: config.LLM_TIMEOUT_MS,
    logger,
    memoryCacheEntries: config.LLM_MEMORY_CACHE_ENTRIES,
    retry: { maxRetries: config.LLM_RETRIES_PER_ENGINE },
    ledgerSettleMarginMs: config.LLM_LEDGER_SETTLE_MARGIN_MS,
    egress: { policy: config.engineHostPolicy, resolve: resolveHost },
    // An engine's rate limit is its API key's: every process takes from the same buckets.
    rateLimiter: new SharedRateLimiter(db, (err) => logger?.warn({ err }, 'rate limit bucket not updated')),
  });
}

/**
 * Starts the HTTP API on `config.PORT` with a Temporal client on `connection`. `devSignIn`: the
 * web app's development sign-in (`anno dev` only).
 */
export async function startApi(config: Config, db: Knex, logger: Logger, connection: Connection, opts: { devSignIn?: boolean } = {}): Promise<RunningApi> {
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const switcher = createApiSwitcher(config, db, logger);
  const deps = { config, db, logger, temporal: { client, namespace: config.TEMPORAL_NAMESPACE }, switcher, devSignIn: opts.devSignIn };
  const app = createApp(deps);
  const server = createApiServer(app);
  const hub = attachWebSocketHub(server, deps);
  hub.setHandler('suggestion_feedback', suggestionFeedbackMessage);
  hub.setHandler('review_decision', reviewDecisionMessage);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const host = config.HOST === '0.0.0.0' ? 'localhost' : config.HOST;
  return {
    server,
    url: `http://${host}:${port}`,
    hub,
    close: async () => {
      await hub.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await switcher.flush(); // cache entries written behind answers
    },
  };
}

/** `anno api`: connects to TEMPORAL_ADDRESS and serves until SIGINT/SIGTERM. */
export async function runApiProcess(config: Config, db: Knex, logger: Logger): Promise<void> {
  if (!config.TEMPORAL_ADDRESS) throw new Error('TEMPORAL_ADDRESS is required for `anno api`');
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const api = await startApi(config, db, logger, connection);
  logger.info({ url: api.url }, 'API listening');
  const metricsWarning = openMetricsWarning(config);
  if (metricsWarning) logger.warn(metricsWarning);
  await untilSignal();
  await api.close();
  await connection.close();
}

export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (signal: NodeJS.Signals) => resolve(signal);
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}
