import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BoundedLabel, MAX_ENGINE_LABELS } from './labels';

/**
 * No label carries tenant-chosen text (engine names, models, paths): LLM series are labelled by
 * engine id and provider (`llmEngineLabels`), HTTP series by route template. See labels.ts.
 *
 * Our own registry (not prom-client's global one) so tests and several apps in one process
 * never collide on metric names. Every module that counts something imports `metrics`.
 */
const registry = new Registry();
// Event-loop delay sampled every 100 ms, not prom-client's 10: the 10 ms timer alone cost an idle
// process ~5 ms of CPU a second here, and a stall long enough to matter still shows.
collectDefaultMetrics({ register: registry, prefix: 'anno_', eventLoopMonitoringPrecision: 100 });

export const metrics = {
  registry,
  httpRequestDuration: new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by method, matched route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  }),
  jobsStarted: new Counter({
    name: 'anno_jobs_started_total',
    help: 'Jobs (workflows) started, by job type',
    labelNames: ['type'] as const,
    registers: [registry],
  }),
  jobsCompleted: new Counter({
    name: 'anno_jobs_completed_total',
    help: 'Jobs finished, by job type and final status',
    labelNames: ['type', 'status'] as const,
    registers: [registry],
  }),
  llmCalls: new Counter({
    name: 'anno_llm_calls_total',
    help: 'LLM calls, by engine id, provider and outcome (ok, error, invalid_output, timeout, rate_limited, cached)',
    labelNames: ['engine_id', 'provider', 'outcome'] as const,
    registers: [registry],
  }),
  llmTokens: new Counter({
    name: 'anno_llm_tokens_total',
    help: 'LLM tokens, by engine id, provider and kind (prompt, completion, cached)',
    labelNames: ['engine_id', 'provider', 'kind'] as const,
    registers: [registry],
  }),
  llmCostUsd: new Counter({
    name: 'anno_llm_cost_usd_total',
    help: 'LLM cost in US dollars, by engine id and provider',
    labelNames: ['engine_id', 'provider'] as const,
    registers: [registry],
  }),
  llmCacheHits: new Counter({
    name: 'anno_llm_cache_hits_total',
    help: 'LLM responses served from the cache, by engine id and provider',
    labelNames: ['engine_id', 'provider'] as const,
    registers: [registry],
  }),
  websocketConnections: new Gauge({
    name: 'anno_websocket_connections',
    help: 'Open WebSocket connections on this replica',
    registers: [registry],
  }),
};

const engineIds = new BoundedLabel(MAX_ENGINE_LABELS);
const providers = new BoundedLabel(16);

/** The labels of an engine's LLM series: its id (at most MAX_ENGINE_LABELS of them) and provider. */
export function llmEngineLabels(engine: { id: string; provider: string }): { engine_id: string; provider: string } {
  return { engine_id: engineIds.value(engine.id), provider: providers.value(engine.provider) };
}

export const metricsContentType = registry.contentType;

/** The Prometheus text exposition of every metric above. */
export function metricsText(): Promise<string> {
  return registry.metrics();
}
