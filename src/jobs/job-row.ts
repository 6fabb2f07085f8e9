import type { Knex } from 'knex';
import { appendEvent } from '../events/outbox';

/**
 * Keeps a job's row and the outbox in step with its workflow: writes the progress (monotonic:
 * a late, older update never overwrites a newer one, and an ended job is left alone) and
 * appends a `job.progress` event, once per `eventKey` however often a retry calls it.
 */
export async function recordJobProgress(
  db: Knex,
  job: { tenantId: string; projectId: string; jobId: string; jobType: string; status: string },
  progress: { processed: number } & Record<string, unknown>,
  eventKey: string = String(progress.processed),
): Promise<void> {
  await db('jobs')
    .where({ id: job.jobId, tenant_id: job.tenantId })
    .andWhereRaw("COALESCE((progress->>'processed')::int, 0) <= ?", [progress.processed])
    .whereNotIn('status', ['completed', 'failed', 'cancelled'])
    .update({ progress: JSON.stringify(progress), updated_at: db.fn.now() });
  await appendEvent(db, {
    tenantId: job.tenantId,
    projectId: job.projectId,
    type: 'job.progress',
    payload: { job_id: job.jobId, job_type: job.jobType, status: job.status, ...progress },
    dedupeKey: `job.progress:${job.jobId}:${eventKey}`,
  });
}
