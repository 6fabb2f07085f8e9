import type { Knex } from 'knex';
import { cacheUpsert, type CachePut, type CacheWriter } from './cache';
import { retryLedgerWrite } from './ledger-retry';
import { settleUpdate, usageInsert, type DeferredLedger, type OpenedCall, type Settlement, type UsageEntry } from './ledger';

/**
 * A call's bookkeeping — its ledger settlements and rows, and the cache entry of its answer — kept
 * for the caller to store with its own write in one statement (see `writeQueries`), instead of
 * written by the switcher as separate commits. The live suggestion path uses it: one commit per
 * suggestion. A provider call's in-flight row is still written before the call, by the switcher's
 * own writer (the write-ahead cannot wait); only its settlement is collected. Rows of a job cannot
 * be collected (they move `jobs.cost_usd`; see recordUsage).
 */
export interface CollectedWrites {
  /** Settled rows (cache hits). */
  readonly usage: UsageEntry[];
  /** Settlements of rows opened before their calls. */
  readonly settles: { call: OpenedCall; settlement: Settlement }[];
  readonly cachePuts: CachePut[];
  /** Hand these to the switcher (GenerateRequest.writes). */
  readonly ledger: DeferredLedger;
  readonly cache: CacheWriter;
  /** The writes storing what was collected, for the caller's statement (e.g. writeWithEvent). */
  writeQueries(db: Knex): Knex.QueryBuilder[];
  /**
   * Stores what was collected on its own, in one statement (all or nothing, so it may be retried):
   * when the caller has no write, or its write failed. Retried for up to `retryMs` (default 5 s);
   * settlements it cannot store are left to the sweeper.
   */
  store(db: Knex, retryMs?: number): Promise<void>;
}

export function collectWrites(): CollectedWrites {
  const usage: UsageEntry[] = [];
  const settles: { call: OpenedCall; settlement: Settlement }[] = [];
  const cachePuts: CachePut[] = [];
  const writeQueries = (db: Knex): Knex.QueryBuilder[] => [
    ...(usage.length ? [usageInsert(db, usage)] : []),
    ...settles.map((s) => settleUpdate(db, s.call, s.settlement)),
    ...(cachePuts.length ? [cacheUpsert(db, cachePuts)] : []),
  ];
  return {
    usage,
    settles,
    cachePuts,
    ledger: {
      record: async (entry) => {
        usage.push(entry);
      },
      settle: async (call, settlement) => {
        if (call.jobId) throw new Error('collectWrites: rows of a job are settled by the switcher’s writer');
        settles.push({ call, settlement });
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
    writeQueries,
    async store(db, retryMs = 5000) {
      const queries = writeQueries(db).map((q) => q.toSQL());
      if (!queries.length) return;
      const sql = `WITH ${queries.map((q, i) => `write_${i} AS (${q.sql})`).join(', ')} SELECT 1`;
      const bindings = queries.flatMap((q) => q.bindings as Knex.RawBinding[]);
      await retryLedgerWrite(() => db.raw(sql, bindings), { giveUpAt: Date.now() + retryMs });
    },
  };
}
