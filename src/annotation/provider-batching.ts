import type { JobCounters } from './job-progress';

/**
 * Pure rules of batch-mode pre-annotation (workflows/pre-annotation-batch-mode.ts): how long to
 * wait before looking at a provider batch again, and the settings a job carries.
 */
export interface ProviderBatchSettings {
  /** Items per provider batch (the adapter cuts a chunk shorter at the provider's limits). */
  chunkSize: number;
  /** Provider batches of the job waiting at once. */
  inFlight: number;
  /** First wait before a poll; each later wait doubles, up to `pollMaxMs`. */
  pollInitialMs: number;
  pollMaxMs: number;
  /** New provider batches for a chunk's items that came back failed, expired or unparseable. */
  retries: number;
  /** At most this many items left to retry: retry them synchronously instead of in a new batch. */
  syncRetryBelow: number;
}

/** The wait before poll `n` (0-based): seconds at first, doubling, up to minutes (`pollMaxMs`). */
export function pollDelayMs(n: number, settings: Pick<ProviderBatchSettings, 'pollInitialMs' | 'pollMaxMs'>): number {
  const initial = Math.max(1, settings.pollInitialMs);
  return Math.min(Math.max(initial, settings.pollMaxMs), initial * 2 ** Math.min(30, Math.max(0, n)));
}

/** a − b, counter by counter (a chunk's counters now, minus what the job already counted of it). */
export function subtractCounters(a: JobCounters, b: JobCounters): JobCounters {
  return {
    processed: a.processed - b.processed,
    succeeded: a.succeeded - b.succeeded,
    failed: a.failed - b.failed,
    auto_accepted: a.auto_accepted - b.auto_accepted,
    needs_review: a.needs_review - b.needs_review,
  };
}
