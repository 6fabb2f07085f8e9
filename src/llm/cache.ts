import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { EngineRecord } from './engine-store';
import type { ChatMessage } from './prompt';
import type { LabelSchema } from './types';

/**
 * The response cache (table `llm_cache`): a successful raw answer keyed by sha256 of tenant,
 * project, engine, model, prompt and params, until it expires. Scoped to the project so that
 * re-runs and retried batches hit while separate projects (and benchmarks) stay independent. The switcher reads it before the rate
 * limiter; a hit is parsed like a fresh answer, marked cached and costs 0.
 */

export interface CacheKeyInput {
  tenantId: string;
  projectId: string;
  engine: Pick<EngineRecord, 'id' | 'provider' | 'model' | 'base_url' | 'params'>;
  messages: ChatMessage[];
  labelSchema: LabelSchema;
}

export function cacheKey({ tenantId, projectId, engine, messages, labelSchema }: CacheKeyInput): string {
  return crypto
    .createHash('sha256')
    .update(
      stableJson({
        v: 1,
        tenantId,
        projectId,
        engineId: engine.id,
        provider: engine.provider,
        model: engine.model,
        baseUrl: engine.base_url ?? null,
        params: engine.params ?? {},
        labelSchema,
        messages,
      }),
    )
    .digest('hex');
}

/** Seconds an answer of this engine stays cached: `params.cache_ttl_seconds`, else the default; 0 disables. */
export function cacheTtlSeconds(engine: Pick<EngineRecord, 'params' | 'provider'>, defaultTtlSeconds: number): number {
  if (engine.provider === 'local') return 0; // computing is cheaper than a round trip
  if (engine.params?.cache === false) return 0;
  const ttl = engine.params?.cache_ttl_seconds;
  const seconds = typeof ttl === 'number' && Number.isFinite(ttl) ? ttl : defaultTtlSeconds;
  return Math.max(0, Math.floor(seconds));
}

/**
 * The cached answer text, or null on a miss or an expired entry. A plain read: hits are counted
 * in the ledger (`llm_usage.cached`), so a hit writes nothing here and concurrent hits of one
 * answer do not queue on its row.
 */
export async function cacheGet(db: Knex, key: string): Promise<{ text: string; expiresAt: Date } | null> {
  const row: { response_text: string; expires_at: Date | string } | undefined = await db('llm_cache')
    .where({ key })
    .andWhere('expires_at', '>', db.fn.now())
    .first('response_text', 'expires_at');
  return row ? { text: row.response_text, expiresAt: new Date(row.expires_at) } : null;
}

export interface CacheEntry {
  tenantId: string;
  engineId: string;
  model: string;
  responseText: string;
  promptTokens: number;
  completionTokens: number;
}

/** Stores an answer for `ttlSeconds`; returns when it expires (null when not stored). */
export async function cachePut(db: Knex, key: string, entry: CacheEntry, ttlSeconds: number): Promise<Date | null> {
  if (ttlSeconds <= 0) return null;
  const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
  const row = {
    key,
    tenant_id: entry.tenantId,
    engine_id: entry.engineId,
    model: entry.model,
    response_text: entry.responseText,
    prompt_tokens: entry.promptTokens,
    completion_tokens: entry.completionTokens,
    expires_at: expiresAt,
  };
  await db('llm_cache')
    .insert(row)
    .onConflict('key')
    .merge({ response_text: row.response_text, prompt_tokens: row.prompt_tokens, completion_tokens: row.completion_tokens, expires_at: expiresAt, created_at: db.fn.now() });
  return expiresAt;
}

/** Deletes expired entries; returns how many. */
export async function pruneLlmCache(db: Knex): Promise<number> {
  return db('llm_cache').where('expires_at', '<=', db.fn.now()).delete();
}

/** JSON with object keys sorted, so equal values hash equally. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]))
      : v,
  );
}
