import type { Knex } from 'knex';
import { writeWithEvent } from '../../events/outbox';
import { metrics } from '../../metrics';
import type { ReportingJob } from './progress';
import { ENDED_STATUSES } from './statuses';

export interface JobOutcome {
  status: 'completed' | 'cancelled' | 'failed';
  /** The final progress; absent: the row's stays. */
  progress?: Record<string, unknown>;
  /** The job's result; absent: the row's stays. */
  result?: Record<string, unknown>;
  error?: string | null;
  /** What the `job.completed` event says beyond job_id, job_type and status. */
  details: Record<string, unknown>;
}

/** Who ended a job from outside its workflow (an operator's cancel of a stalled job), for the audit log. */
export interface JobEndedBy {
  actor: string;
  action: string;
  details: Record<string, unknown>;
}

/**
 * Finishes a job of any kind: the row and its `job.completed` event in ONE statement (all or
 * nothing), and `anno_jobs_completed_total` counted once per job however often an activity
 * retry calls it (the event's dedupe key says whether this call was the first). A job ended
 * from outside its workflow (`endedBy`) is finished only if still open, with an audit entry.
 */
export async function finishJob(db: Knex, job: ReportingJob, outcome: JobOutcome, endedBy?: JobEndedBy): Promise<boolean> {
  const row = db('jobs').where({ id: job.jobId, tenant_id: job.tenantId });
  if (endedBy) row.whereNotIn('status', ENDED_STATUSES);
  const writes: (Knex.QueryBuilder | Knex.Raw)[] = [
    row.update({
      status: outcome.status,
      ...(outcome.progress ? { progress: JSON.stringify(outcome.progress) } : {}),
      ...(outcome.result ? { result: JSON.stringify(outcome.result) } : {}),
      error: outcome.error ?? null,
      ...(job.runId ? { run_id: job.runId } : {}),
      completed_at: db.fn.now(),
      updated_at: db.fn.now(),
    }),
  ];
  if (endedBy) {
    // Every write of the statement sees the rows as they were before it: "still open" here is
    // the same condition as the update's.
    writes.push(
      db.raw(
        `INSERT INTO audit_log (tenant_id, project_id, actor, action, entity_type, entity_id, details)
         SELECT ?, ?, ?, ?, 'job', ?, ?::jsonb
          WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ? AND tenant_id = ? AND status NOT IN (${ENDED_STATUSES.map(() => '?').join(', ')}))`,
        [job.tenantId, job.projectId, endedBy.actor, endedBy.action, job.jobId, JSON.stringify(endedBy.details), job.jobId, job.tenantId, ...ENDED_STATUSES],
      ),
    );
  }
  const eventId = await writeWithEvent(db, writes, {
    tenantId: job.tenantId,
    projectId: job.projectId,
    type: 'job.completed',
    payload: { job_id: job.jobId, job_type: job.jobType, status: outcome.status, ...outcome.details },
    dedupeKey: `job.completed:${job.jobId}`,
  });
  if (eventId) metrics.jobsCompleted.inc({ type: job.jobType, status: outcome.status });
  return eventId !== null;
}
