/**
 * Batches are half-open ranges of a job's item sequence numbers, [from, to). The workflow
 * carries only a cursor; the activity loads the items of its range itself, so history stays
 * small however large the job.
 */
export interface BatchRange {
  fromSeq: number;
  toSeq: number;
}

export function nextBatch(cursor: number, total: number, batchSize: number): BatchRange | null {
  if (batchSize < 1) throw new Error('batchSize must be at least 1');
  if (cursor >= total) return null;
  return { fromSeq: cursor, toSeq: Math.min(total, cursor + batchSize) };
}

/**
 * How many batch activities to keep in flight so `concurrency` LLM calls stay busy: enough
 * batches to cover the concurrency, plus one so a finishing batch's tail is overlapped.
 */
export function batchesInFlight(concurrency: number, batchSize: number): number {
  return Math.max(1, Math.ceil(concurrency / batchSize)) + 1;
}
