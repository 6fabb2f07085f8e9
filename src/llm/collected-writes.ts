import type { Knex } from 'knex';
import { cachePutBatch, cacheUpsert, type CachePut, type CacheWriter } from './cache';
import { recordUsageBatch, usageInsert, type LedgerWriter, type UsageEntry } from './ledger';

/**
 * A call's bookkeeping — its ledger rows and the cache entry of its answer — kept for the caller
 * to store with its own write in one statement (see `writeQueries`), instead of written by the
 * switcher as separate commits. The live suggestion path uses it: one commit per suggestion.
 * Ledger rows of a job cannot be collected (they move `jobs.cost_usd`; see recordUsage).
 */
export interface CollectedWrites {
  readonly usage: UsageEntry[];
  readonly cachePuts: CachePut[];
  /** Hand these to the switcher (GenerateRequest.writes). */
  readonly ledger: LedgerWriter;
  readonly cache: CacheWriter;
  /** The inserts storing what was collected, for the caller's statement (e.g. writeWithEvent). */
  writeQueries(db: Knex): Knex.QueryBuilder[];
  /** Stores what was collected on its own: when the caller has no write, or its write failed. */
  store(db: Knex): Promise<void>;
}

export function collectWrites(): CollectedWrites {
  const usage: UsageEntry[] = [];
  const cachePuts: CachePut[] = [];
  return {
    usage,
    cachePuts,
    ledger: {
      record: async (entry) => {
        usage.push(entry);
      },
    },
    cache: {
      put(key, entry, ttlSeconds) {
        if (ttlSeconds <= 0) return null;
        const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
        cachePuts.push({ key, entry, expiresAt });
        return { expiresAt, written: Promise.resolve() };
      },
      pending: (key) => cachePuts.find((p) => p.key === key)?.entry.responseText,
      flush: async () => undefined,
    },
    writeQueries(db) {
      return [...(usage.length ? [usageInsert(db, usage)] : []), ...(cachePuts.length ? [cacheUpsert(db, cachePuts)] : [])];
    },
    async store(db) {
      await Promise.all([recordUsageBatch(db, usage), cachePutBatch(db, cachePuts)]);
    },
  };
}
