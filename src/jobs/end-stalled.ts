import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { appendEvent } from '../events/outbox';
import type { JobRow } from './job-views';

/**
 * Ends a job whose workflow can no longer process signals (stalled: its workflow task keeps
 * failing, so a `cancel` signal would wait forever): terminates the run, then records the job
 * cancelled — row, audit entry and `job.completed` event — as its workflow would have.
 */
export async function cancelStalledJob(
  db: Knex,
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
  await db.transaction(async (trx) => {
    const ended = await trx('jobs')
      .where({ id: job.id, tenant_id: job.tenant_id })
      .whereNotIn('status', ['completed', 'failed', 'cancelled'])
      .update({ status: 'cancelled', error: reason, completed_at: trx.fn.now(), updated_at: trx.fn.now() });
    if (!ended) return;
    await trx('audit_log').insert({
      tenant_id: job.tenant_id,
      project_id: job.project_id,
      actor: by.actor,
      action: 'job.terminated',
      entity_type: 'job',
      entity_id: job.id,
      details: JSON.stringify({ workflow_id: job.workflow_id, reason }),
    });
    await appendEvent(trx, {
      tenantId: job.tenant_id,
      projectId: job.project_id,
      type: 'job.completed',
      payload: { job_id: job.id, job_type: job.type, status: 'cancelled', error: reason },
      dedupeKey: `job.completed:${job.id}`,
    });
  });
}
