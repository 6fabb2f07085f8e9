import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Config } from '../config';
import type { ConflictRow } from '../db/models';
import { startConflictWorkflows } from './conflicts';

/** A younger conflict is most likely being started by its creator right now: leave it to it. */
export const CONFLICT_SWEEP_MIN_AGE_MS = 10_000;
/** Conflicts started per sweep round; a backlog drains over several rounds. */
export const CONFLICT_SWEEP_BATCH = 100;

/**
 * Starts the workflow of every open conflict not known to be started (workflow_started_at null),
 * oldest first: the repair for a creator that committed the conflict and then could not start its
 * workflow (a crash, Temporal unreachable). Starting is idempotent by workflow id, so replicas may
 * sweep at once. Returns how many it started and how many starts failed (left for the next round).
 */
export async function sweepUnstartedConflicts(
  db: Knex,
  client: Client,
  settings: Pick<Config, 'TEMPORAL_TASK_QUEUE'>,
  opts: { minAgeMs?: number; batch?: number } = {},
): Promise<{ started: number; failed: number }> {
  const rows: Pick<ConflictRow, 'id' | 'tenant_id' | 'project_id' | 'item_id'>[] = await db('conflicts')
    .where({ status: 'open' })
    .whereNull('workflow_started_at')
    .where('created_at', '<=', db.raw("now() - make_interval(secs => ?)", [(opts.minAgeMs ?? CONFLICT_SWEEP_MIN_AGE_MS) / 1000]))
    .orderBy('created_at')
    .limit(opts.batch ?? CONFLICT_SWEEP_BATCH)
    .select('id', 'tenant_id', 'project_id', 'item_id');
  let started = 0;
  let failed = 0;
  for (const r of rows) {
    const one = { tenantId: r.tenant_id, projectId: r.project_id, itemId: r.item_id, conflictId: r.id, workflowStarted: false };
    try {
      started += await startConflictWorkflows(db, client, settings, [one]);
    } catch {
      failed++;
    }
  }
  return { started, failed };
}

/** Runs the sweep now and every `everyMs` in this process (workers and `anno dev`); returns a stop. */
export function scheduleConflictSweep(
  db: Knex,
  client: Client,
  settings: Pick<Config, 'TEMPORAL_TASK_QUEUE'>,
  logger: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void },
  everyMs: number,
): () => void {
  let running = false;
  const sweep = async () => {
    if (running) return; // a slow round (Temporal down) is not stacked on
    running = true;
    try {
      const r = await sweepUnstartedConflicts(db, client, settings);
      if (r.started || r.failed) logger.info(r, 'conflict sweep: workflows of unstarted conflicts');
    } catch (err) {
      logger.warn({ err }, 'conflict sweep failed');
    } finally {
      running = false;
    }
  };
  void sweep();
  const timer = setInterval(sweep, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
