import type { Knex } from 'knex';
import { cteOf, joinCtes, runCtes, type CteParts } from '../db/statement';
import { cacheUpsert, type CachePut, type CacheWriter } from './cache';
import { retryLedgerWrite } from './ledger-retry';
import { ledgerCtes, settleUpdate, usageInsert, type DeferredLedger, type OpenedCall, type Settlement, type UsageEntry } from './ledger';

/**
 * A call's bookkeeping — its ledger settlements and rows, and the cache entry of its answer — kept
 * for the caller to store with its own write in one statement, instead of written by the switcher
 * as separate commits. The live suggestion path stores them with its suggestion (`writeQueries`),
 * pre-annotation with the item's annotation (`cteParts`, activities/annotation-writer.ts). A
 * provider call's in-flight row is still written before the call, by the switcher's own writer
 * (the write-ahead cannot wait); only its settlement is collected.
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
  /**
   * The writes as query builders, for a caller's statement that takes those (writeWithEvent).
   * Rows of a job cannot go this way (they move `jobs.cost_usd`): use `cteParts`.
   */
  writeQueries(db: Knex): Knex.QueryBuilder[];
  /** The writes as CTEs (src/db/statement.ts), jobs' spend included. */
  cteParts(db: Knex): CteParts;
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
  const cteParts = (db: Knex): CteParts => collectedCtes(db, { usage, settles, cachePuts });
  return {
    usage,
    settles,
    cachePuts,
    ledger: {
      record: async (entry) => {
        usage.push(entry);
      },
      settle: async (call, settlement) => {
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
    cteParts,
    async store(db, retryMs = 5000) {
      const parts = cteParts(db);
      if (!parts.ctes.length) return;
      await retryLedgerWrite(() => runCtes(db, parts), { giveUpAt: Date.now() + retryMs });
    },
  };
}

/** Collected writes (of one call or of many, merged) as CTEs: the ledger's, then the cache's. */
export function collectedCtes(db: Knex, w: Pick<CollectedWrites, 'usage' | 'settles' | 'cachePuts'>): CteParts {
  return joinCtes(ledgerCtes(db, w.usage, w.settles), ...(w.cachePuts.length ? [cteOf('cache_put', cacheUpsert(db, w.cachePuts))] : []));
}
