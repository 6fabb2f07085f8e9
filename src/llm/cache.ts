import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { groupCommit } from '../db/group-commit';
import { affectedRows } from '../db/results';
import type { EngineRecord } from '../db/models';
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

/** The cached answers of many keys in one statement (expired entries left out), by key. */
export async function cacheGetMany(db: Knex, keys: string[]): Promise<Map<string, string>> {
  if (!keys.length) return new Map();
  const rows: { key: string; response_text: string }[] = await db('llm_cache')
    .whereIn('key', [...new Set(keys)])
    .andWhere('expires_at', '>', db.fn.now())
    .select('key', 'response_text');
  return new Map(rows.map((r) => [r.key, r.response_text]));
}

export interface CacheEntry {
  tenantId: string;
  engineId: string;
  model: string;
  responseText: string;
  promptTokens: number;
  completionTokens: number;
}

export interface CachePut {
  key: string;
  entry: CacheEntry;
  expiresAt: Date;
}

/** Stores answers in one statement (an upsert; for a key given twice the last wins). */
export async function cachePutBatch(db: Knex, puts: CachePut[]): Promise<void> {
  if (puts.length) await cacheUpsert(db, puts);
}

/** The upsert of cache entries, to run alone or inside the caller's own statement. */
export function cacheUpsert(db: Knex, puts: CachePut[]): Knex.QueryBuilder {
  const byKey = new Map(puts.map((p) => [p.key, p]));
  if (!byKey.size) throw new Error('cacheUpsert: no entries');
  const rows = [...byKey.values()].map(({ key, entry, expiresAt }) => ({
    key,
    tenant_id: entry.tenantId,
    engine_id: entry.engineId,
    model: entry.model,
    response_text: entry.responseText,
    prompt_tokens: entry.promptTokens,
    completion_tokens: entry.completionTokens,
    expires_at: expiresAt,
  }));
  return db('llm_cache')
    .insert(rows)
    .onConflict('key')
    .merge({
      response_text: db.raw('excluded.response_text'),
      prompt_tokens: db.raw('excluded.prompt_tokens'),
      completion_tokens: db.raw('excluded.completion_tokens'),
      expires_at: db.raw('excluded.expires_at'),
      created_at: db.fn.now(),
    });
}

/**
 * Writes cache entries without making the caller wait: by group commit, so concurrent calls share
 * statements. Until an entry is written, `pending` answers it, so this process never misses its
 * own answer; another process may miss it for that moment, which costs a call, not correctness.
 */
export interface CacheWriter {
  /** Queues the entry; returns when it expires, or null when `ttlSeconds` is 0. `written` settles when stored. */
  put(key: string, entry: CacheEntry, ttlSeconds: number): { expiresAt: Date; written: Promise<void> } | null;
  pending(key: string): string | undefined;
  /** Settles when every entry queued so far is written (or has failed). */
  flush(): Promise<void>;
}

export function createCacheWriter(db: Knex, onError: (err: unknown) => void): CacheWriter {
  const inFlight = new Map<string, string>();
  const writes = new Set<Promise<void>>();
  const writer = groupCommit<CachePut>((puts) => cachePutBatch(db, puts));
  return {
    put(key, entry, ttlSeconds) {
      if (ttlSeconds <= 0) return null;
      const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
      inFlight.set(key, entry.responseText);
      const written = writer
        .add({ key, entry, expiresAt })
        .catch(onError)
        .finally(() => {
          writes.delete(written);
          if (inFlight.get(key) === entry.responseText) inFlight.delete(key);
        });
      writes.add(written);
      return { expiresAt, written };
    },
    pending: (key) => inFlight.get(key),
    flush: async () => {
      await Promise.all([...writes]);
    },
  };
}

/** Deletes expired entries, `batch` rows per statement (no long lock on a large table); returns how many. */
export async function pruneLlmCache(db: Knex, batch = 5000): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = affectedRows(
      await db('llm_cache')
        .whereIn('key', db('llm_cache').select('key').where('expires_at', '<=', db.fn.now()).limit(batch))
        .delete(),
    );
    total += deleted;
    if (deleted < batch) return total;
  }
}

/**
 * Prunes expired cache entries now and every `everyMs` (workers run it; several doing so is
 * harmless). Returns a function that stops it.
 */
export function scheduleCachePruning(db: Knex, logger: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void }, everyMs = 15 * 60_000): () => void {
  const prune = () =>
    pruneLlmCache(db).then(
      (n) => n && logger.info({ deleted: n }, 'expired llm cache entries deleted'),
      (err) => logger.warn({ err }, 'llm cache pruning failed'),
    );
  void prune();
  const timer = setInterval(prune, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** JSON with object keys sorted, so equal values hash equally. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]))
      : v,
  );
}
