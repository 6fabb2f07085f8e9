import { setTimeout as sleep } from 'node:timers/promises';
import { isPermanentDbError, ledgerRetryDelayMs } from './write-ahead';

/**
 * Ledger writes are retried, never only logged: a failed write (PostgreSQL down, a connection
 * cut) is tried again with backoff until it succeeds, the caller's signal aborts, or `giveUpAt`
 * (epoch ms) passes — after which the last error is thrown. An error no retry can cure (a
 * constraint, a syntax error) is thrown at once. Without `giveUpAt` it retries for as
 * long as the process lives (a settle: if the process dies, the sweeper settles the row).
 */
export async function retryLedgerWrite<R>(
  write: () => Promise<R>,
  opts: { giveUpAt?: number; signal?: AbortSignal; onFailure?: (err: unknown, attempt: number) => void } = {},
): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      opts.onFailure?.(err, attempt);
      const delay = ledgerRetryDelayMs(attempt);
      if (opts.signal?.aborted || isPermanentDbError(err)) throw err;
      if (opts.giveUpAt !== undefined && Date.now() + delay >= opts.giveUpAt) throw err;
      await sleep(delay, undefined, opts.signal ? { signal: opts.signal } : undefined).catch(() => undefined);
    }
  }
}
