import type { Knex } from 'knex';
import { Engine, type EngineRecord } from '../db/models';
import { UUID_PATTERN } from '../formats';

/** The columns of an `EngineRecord`. */
const COLUMNS: (keyof EngineRecord)[] = [
  'id',
  'tenant_id',
  'name',
  'provider',
  'model',
  'base_url',
  'api_key_env',
  'params',
  'price_input_per_1k',
  'price_output_per_1k',
  'batch',
  'batch_price_input_per_1k',
  'batch_price_output_per_1k',
  'rate_limit',
  'fallback_engine_ids',
  'enabled',
];

/**
 * The engines a tenant may use: its own and the built-ins (tenant_id NULL). An engine of another
 * tenant, or an id that is not a UUID, is simply absent ("not found"). Keyed by id.
 */
export async function loadVisibleEngines(db: Knex, tenantId: string, ids: string[]): Promise<Map<string, EngineRecord>> {
  const wanted = [...new Set(ids.filter((id) => typeof id === 'string' && UUID_PATTERN.test(id)).map((id) => id.toLowerCase()))];
  const found = new Map<string, EngineRecord>();
  if (!wanted.length) return found;
  const rows = await Engine.query(db)
    .select(COLUMNS)
    .whereIn('id', wanted)
    .andWhere((q) => q.where('tenant_id', tenantId).orWhereNull('tenant_id'));
  for (const row of rows) found.set(String(row.id).toLowerCase(), normalize(row));
  return found;
}

/**
 * The columns as one JSON object per engine (`json_build_object`), for queries that read engines
 * along with other rows in one round trip; prices as text so they stay exact. `alias` is the
 * engines table's alias in that query. Turn the objects into records with `engineFromRow`.
 */
export function engineJsonSql(alias: string): string {
  return `json_build_object(${COLUMNS.map((c) => `'${c}', ${alias}.${c}${c.includes('price_') ? '::text' : ''}`).join(', ')})`;
}

export function engineFromRow(row: Record<string, any>): EngineRecord {
  return normalize(row);
}

export async function loadVisibleEngine(db: Knex, tenantId: string, id: string): Promise<EngineRecord | null> {
  return (await loadVisibleEngines(db, tenantId, [id])).get(String(id).toLowerCase()) ?? null;
}

/** Defaults for columns a row built by `engineJsonSql` or an old row may lack. */
function normalize(row: Record<string, any>): EngineRecord {
  return {
    id: String(row.id),
    tenant_id: row.tenant_id ?? null,
    name: row.name,
    provider: row.provider,
    model: row.model,
    base_url: row.base_url ?? null,
    api_key_env: row.api_key_env ?? null,
    params: jsonObject(row.params) ?? {},
    price_input_per_1k: String(row.price_input_per_1k ?? '0'),
    price_output_per_1k: String(row.price_output_per_1k ?? '0'),
    batch: row.provider !== 'local' && row.batch !== false,
    batch_price_input_per_1k: row.batch_price_input_per_1k === null || row.batch_price_input_per_1k === undefined ? null : String(row.batch_price_input_per_1k),
    batch_price_output_per_1k: row.batch_price_output_per_1k === null || row.batch_price_output_per_1k === undefined ? null : String(row.batch_price_output_per_1k),
    rate_limit: jsonObject(row.rate_limit) as EngineRecord['rate_limit'],
    fallback_engine_ids: (jsonValue(row.fallback_engine_ids) as unknown[] | null)?.filter((x): x is string => typeof x === 'string') ?? [],
    enabled: row.enabled !== false,
  };
}

function jsonValue(v: unknown): unknown {
  if (typeof v === 'string') {
    try {
      return JSON.parse(v);
    } catch {
      return null;
    }
  }
  return v ?? null;
}

function jsonObject(v: unknown): Record<string, unknown> | null {
  const parsed = jsonValue(v);
  return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
}
