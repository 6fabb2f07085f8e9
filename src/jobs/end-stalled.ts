import type { Client } from '@temporalio/client';
import type { JobRow } from '../db/models';
import type { JobType } from './job-types';
import { finishJob } from './lifecycle';

/**
 * Ends a job whose workflow can no longer process signals (stalled: its workflow task keeps
 * failing, so a `cancel` signal would wait forever): terminates the run, then finishes the job
 * cancelled — row, audit entry and `job.completed` event — as its workflow would have.
 */
export async function cancelStalledJob(
  db: Parameters<typeof finishJob>[0],
  client: Client,
  job: Pick<JobRow, 'id' | 'tenant_id' | 'project_id' | 'type' | 'workflow_id'>,
  by: { actor: string; stall: string },
): Promise<void> {
  const reason = `cancelled while stalled: ${by.stall}`.slice(0, 2000);
  try {
    await client.workflow.getHandle(job.workflow_id).terminate(reason);
  } catch (err) {
    // Already closed (a race with its own end): the row is recorded below all the same.
    if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
  }
  await finishJob(
    db,
    { tenantId: job.tenant_id, projectId: job.project_id, jobId: job.id, jobType: job.type as JobType },
    { status: 'cancelled', error: reason, details: { error: reason } },
    { actor: by.actor, action: 'job.terminated', details: { workflow_id: job.workflow_id, reason } },
  );
}
