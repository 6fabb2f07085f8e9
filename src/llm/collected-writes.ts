import type { Knex } from 'knex';
import { cteOf, joinCtes, runCtes, type CteParts } from '../db/statement';
import { cacheUpsert, type CachePut, type CacheWriter } from './cache';
import { retryLedgerWrite } from './ledger-retry';
import { ledgerCtes, type DeferredLedger, type OpenedCall, type Settlement, type UsageEntry } from './ledger';

/**
 * A call's bookkeeping — its ledger settlements and rows, and the cache entry of its answer — kept
 * for the caller to store with its own write in one statement (`collectedCtes`), instead of
 * written by the switcher as separate commits: the live suggestion path stores them with its
 * suggestion (src/api/suggestions/record.ts), pre-annotation with the item's annotation
 * (createAnnotationWriter, activities/ai-annotations.ts). A provider call's in-flight row is
 * still written before the call, by the switcher's own writer (the write-ahead cannot wait); only
 * its settlement is collected.
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
    async store(db, retryMs = 5000) {
      const parts = collectedCtes(db, { usage, settles, cachePuts });
      if (!parts.ctes.length) return;
      await retryLedgerWrite(() => runCtes(db, parts), { giveUpAt: Date.now() + retryMs });
    },
  };
}

/** Collected writes (of one call or of many, merged) as CTEs: the ledger's, then the cache's. */
export function collectedCtes(db: Knex, w: Pick<CollectedWrites, 'usage' | 'settles' | 'cachePuts'>): CteParts {
  return joinCtes(ledgerCtes(db, w.usage, w.settles), ...(w.cachePuts.length ? [cteOf('cache_put', cacheUpsert(db, w.cachePuts))] : []));
}
