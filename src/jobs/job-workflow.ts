import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { JOB_TYPE, PROJECT_ID, TENANT_ID } from '../temporal/search-attributes';

/** A request the caller can fix: the API answers it with a 422 naming the field. */
export class StartJobRejected extends Error {
  constructor(
    public readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Starts the workflow of a job whose row is already written, with the search attributes
 * operators filter by, and records its run id. If Temporal refuses, the job is marked failed
 * (never left pending) and the error is rethrown.
 */
export async function startJobWorkflow(
  db: Knex,
  client: Client,
  job: { id: string; tenantId: string; projectId: string; type: string; workflowType: string; workflowId: string; taskQueue: string; args: unknown[] },
  // A new run of a finished job (retry-failed) that Temporal refuses leaves the job as it was.
  options: { markFailedOnRefusal?: boolean } = {},
): Promise<{ runId: string }> {
  try {
    const handle = await client.workflow.start(job.workflowType, {
      taskQueue: job.taskQueue,
      workflowId: job.workflowId,
      args: job.args,
      typedSearchAttributes: [
        { key: TENANT_ID, value: job.tenantId },
        { key: PROJECT_ID, value: job.projectId },
        { key: JOB_TYPE, value: job.type },
      ],
    });
    await db('jobs').where({ id: job.id }).update({ run_id: handle.firstExecutionRunId });
    return { runId: handle.firstExecutionRunId };
  } catch (err) {
    if (options.markFailedOnRefusal === false) throw err;
    await db('jobs')
      .where({ id: job.id })
      .update({ status: 'failed', error: `workflow start failed: ${(err as Error).message}`, updated_at: db.fn.now() });
    throw err;
  }
}

/**
 * Writes a job's explicit item list (seq 0..n-1) and returns n. Every id must be an item of the
 * project, else nothing is written and the caller gets a StartJobRejected on `item_ids`.
 */
export async function snapshotJobItemIds(
  trx: Knex.Transaction,
  job: { id: string; tenantId: string; projectId: string },
  itemIds: string[],
): Promise<number> {
  const unique = [...new Set(itemIds)];
  const found = new Set<string>();
  for (let i = 0; i < unique.length; i += 5000) {
    const rows = await trx('items')
      .where({ project_id: job.projectId, tenant_id: job.tenantId })
      .whereIn('id', unique.slice(i, i + 5000))
      .pluck('id');
    rows.forEach((id: string) => found.add(id));
  }
  const missing = unique.filter((id) => !found.has(id));
  if (missing.length) {
    throw new StartJobRejected('item_ids', `${missing.length} item(s) not found in this project, e.g. ${missing.slice(0, 3).join(', ')}`);
  }
  for (let i = 0; i < unique.length; i += 5000) {
    await trx('job_items').insert(unique.slice(i, i + 5000).map((itemId, k) => ({ job_id: job.id, seq: i + k, item_id: itemId })));
  }
  return unique.length;
}
