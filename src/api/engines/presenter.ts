import type { Switcher } from '../../llm/switcher';
import { EMPTY_USAGE, healthOf, trimDecimal, type EngineRow, type UsageStats } from './store';

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
