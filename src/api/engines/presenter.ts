import type { Switcher } from '../../llm/switcher';
import type { EngineRow } from '../../db/models';
import { batchPrices } from '../../llm/cost';

/** The one place an engine row becomes its API shape. No key is ever part of it: only the env name. */
export function presentEngine(row: EngineRow, switcher: Switcher | undefined, usage: UsageStats | undefined) {
  return {
    id: row.id,
    name: row.name,
    provider: row.provider,
    model: row.model,
    base_url: row.base_url ?? null,
    api_key_env: row.api_key_env ?? null,
    params: row.params ?? {},
    price: { input_per_1k: trimDecimal(String(row.price_input_per_1k ?? '0')), output_per_1k: trimDecimal(String(row.price_output_per_1k ?? '0')) },
    batch: row.provider !== 'local' && row.batch !== false,
    batch_price: presentBatchPrice(row),
    batch_price_default: row.batch_price_input_per_1k === null || row.batch_price_input_per_1k === undefined,
    rate_limit: row.rate_limit ?? null,
    fallback_engine_ids: row.fallback_engine_ids ?? [],
    enabled: row.enabled !== false,
    built_in: row.tenant_id === null,
    health: healthOf(switcher, row.id),
    usage: usage ?? { ...EMPTY_USAGE },
    created_at: row.created_at ? new Date(row.created_at).toISOString() : null,
    updated_at: row.updated_at ? new Date(row.updated_at).toISOString() : null,
  };
}

function presentBatchPrice(row: EngineRow) {
  const prices = batchPrices(row);
  return { input_per_1k: trimDecimal(String(prices.price_input_per_1k)), output_per_1k: trimDecimal(String(prices.price_output_per_1k)) };
}

/** An engine's usage as the API answers it (from `usageByEngine` rows, or the ledger's totals). */
export interface UsageStats {
  calls: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  tokens: number;
  cost_usd: string;
  mean_latency_ms: number | null;
  cache_hits: number;
}

export const EMPTY_USAGE: UsageStats = {
  calls: 0,
  errors: 0,
  prompt_tokens: 0,
  completion_tokens: 0,
  tokens: 0,
  cost_usd: '0',
  mean_latency_ms: null,
  cache_hits: 0,
};

export function usageOf(r: Record<string, any>): UsageStats {
  const prompt = Number(r.prompt_tokens ?? 0);
  const completion = Number(r.completion_tokens ?? 0);
  return {
    calls: Number(r.calls ?? 0),
    errors: Number(r.errors ?? 0),
    prompt_tokens: prompt,
    completion_tokens: completion,
    tokens: prompt + completion,
    cost_usd: trimDecimal(String(r.cost_usd ?? '0')),
    mean_latency_ms: r.mean_latency_ms === null || r.mean_latency_ms === undefined ? null : round1(Number(r.mean_latency_ms)),
    cache_hits: Number(r.cache_hits ?? 0),
  };
}

/** "0.0012300000" → "0.00123"; "5.0000000000" → "5". The value is unchanged. */
export function trimDecimal(s: string): string {
  if (!s.includes('.')) return s;
  const t = s.replace(/0+$/, '').replace(/\.$/, '');
  return t === '' || t === '-' ? '0' : t;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/** The breaker's view of an engine. */
export function healthOf(switcher: Switcher | undefined, engineId: string) {
  const circuit = switcher?.circuitBreaker.state(engineId) ?? 'closed';
  const status = circuit === 'closed' ? 'healthy' : circuit === 'half_open' ? 'degraded' : 'down';
  return { status, circuit, retry_in_ms: switcher?.circuitBreaker.retryInMs(engineId) ?? 0 } as const;
}
