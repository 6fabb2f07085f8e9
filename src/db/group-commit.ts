/**
 * Group commit: an item added while no write is in flight is written at once; items added
 * meanwhile wait for that write and then go together in one `writeBatch` call. A lone caller pays
 * one round trip, as without batching; many concurrent callers share round trips and commits.
 * When a batch fails, its items are retried one by one, so one bad item fails only its own caller.
 * `writeBatch` may answer one result per item, in the items' order (e.g. the ids it inserted).
 */
export interface GroupCommit<T, R = void> {
  /** Resolves once the item is written (with its result), rejects if it could not be. */
  add(item: T): Promise<R>;
}

export function groupCommit<T, R = void>(writeBatch: (items: T[]) => Promise<R[] | void>, maxBatch = 200): GroupCommit<T, R> {
  let queue: { item: T; resolve: (result: R) => void; reject: (err: unknown) => void }[] = [];
  let flushing = false;

  async function flush(): Promise<void> {
    flushing = true;
    while (queue.length) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      try {
        const results = await writeBatch(batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve((results ? results[i] : undefined) as R));
      } catch (err) {
        if (batch.length === 1) batch[0].reject(err);
        else for (const b of batch) await writeBatch([b.item]).then((r) => b.resolve((r ? r[0] : undefined) as R), b.reject);
      }
    }
    flushing = false;
  }

  return {
    add(item) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (!flushing) void flush();
      });
    },
  };
}
