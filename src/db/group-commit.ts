/**
 * Group commit: an item added while no write is in flight is written at once; items added
 * meanwhile wait for that write and then go together in one `writeBatch` call. A lone caller pays
 * one round trip, as without batching; many concurrent callers share round trips and commits.
 * When a batch fails, its items are retried one by one, so one bad item fails only its own caller.
 */
export interface GroupCommit<T> {
  /** Resolves once the item is written, rejects if it could not be. */
  add(item: T): Promise<void>;
}

export function groupCommit<T>(writeBatch: (items: T[]) => Promise<void>, maxBatch = 200): GroupCommit<T> {
  let queue: { item: T; resolve: () => void; reject: (err: unknown) => void }[] = [];
  let flushing = false;

  async function flush(): Promise<void> {
    flushing = true;
    while (queue.length) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      try {
        await writeBatch(batch.map((b) => b.item));
        for (const b of batch) b.resolve();
      } catch (err) {
        if (batch.length === 1) batch[0].reject(err);
        else for (const b of batch) await writeBatch([b.item]).then(b.resolve, b.reject);
      }
    }
    flushing = false;
  }

  return {
    add(item) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (!flushing) void flush();
      });
    },
  };
}
