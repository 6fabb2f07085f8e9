import type { Knex } from 'knex';
import { appendEvent } from '../../events/outbox';
import type { JobType } from '../job-types';
import { ENDED_STATUSES } from './statuses';

/** The job a running workflow reports for; `runId` is the reporting run's (the live one of a continue-as-new chain). */
export interface ReportingJob {
  tenantId: string;
  projectId: string;
  jobId: string;
  jobType: JobType;
  runId?: string;
}

/**
 * Keeps a job's row and the outbox in step with its workflow: writes the progress (monotonic:
 * a late, older update never overwrites a newer one, and an ended job is left alone) and the
 * reporting run's id (so `run_id` and the Temporal UI link follow continue-as-new), and
 * appends a `job.progress` event, once per `eventKey` however often a retry calls it.
 */
export async function recordJobProgress(
  db: Knex,
  job: ReportingJob & { status: string },
  progress: { processed: number } & Record<string, unknown>,
  eventKey: string = String(progress.processed),
): Promise<void> {
  await db('jobs')
    .where({ id: job.jobId, tenant_id: job.tenantId })
    .andWhereRaw("COALESCE((progress->>'processed')::int, 0) <= ?", [progress.processed])
    .whereNotIn('status', ENDED_STATUSES)
    .update({ progress: JSON.stringify(progress), ...(job.runId ? { run_id: job.runId } : {}), updated_at: db.fn.now() });
  await appendEvent(db, {
    tenantId: job.tenantId,
    projectId: job.projectId,
    type: 'job.progress',
    payload: { job_id: job.jobId, job_type: job.jobType, status: job.status, ...progress },
    dedupeKey: `job.progress:${job.jobId}:${eventKey}`,
  });
}
