import type { Knex } from 'knex';
import { affectedRows } from '../db/results';

export const UNSETTLED_ERROR = 'not settled by its deadline: the process making the call stopped (or lost its database) before recording the outcome';

/**
 * Closes ledger rows left `in_flight` past their deadline (their process died between opening
 * the row and settling it): state and outcome `unknown`, cost left at the upper bound the row
 * already carries — so `jobs.cost_usd` already counts them and moves not at all. `batch` rows per
 * statement; rows another sweeper (or a late settle) holds are skipped. Returns how many.
 */
export async function sweepUnsettledUsage(db: Knex, batch = 1000): Promise<number> {
  let total = 0;
  for (;;) {
    const swept = affectedRows(
      await db.raw(
        `UPDATE llm_usage SET state = 'unknown', outcome = 'unknown', settled_at = now(), error = coalesce(error, ?)
          WHERE id IN (SELECT id FROM llm_usage WHERE state = 'in_flight' AND deadline_at <= now()
                        ORDER BY deadline_at LIMIT ? FOR UPDATE SKIP LOCKED)`,
        [UNSETTLED_ERROR, batch],
      ),
    );
    total += swept;
    if (swept < batch) return total;
  }
}

/**
 * Sweeps now and every `everyMs` (workers and `anno dev` run it; several doing so is harmless).
 * Returns a function that stops it.
 */
export function scheduleLedgerSweep(db: Knex, logger: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void }, everyMs = 60_000): () => void {
  let running = false;
  const sweep = () => {
    if (running) return; // a slow sweep is not stacked on
    running = true;
    sweepUnsettledUsage(db)
      .then(
        (n) => n && logger.info({ settled: n }, 'llm usage rows left in flight settled as unknown'),
        (err) => logger.warn({ err }, 'llm usage ledger sweep failed'),
      )
      .finally(() => (running = false));
  };
  sweep();
  const timer = setInterval(sweep, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
