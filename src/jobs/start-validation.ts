import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Config } from '../config';
import { JOB_TYPE, PROJECT_ID, TENANT_ID } from '../temporal/search-attributes';
import { workflowIds } from '../temporal/workflow-ids';
import { VALIDATION_JOB_TYPE, type ValidationScope } from '../../activities/validation';
import type { ValidationInput } from '../../workflows/validation';
import { StartJobRejected } from './start-pre-annotation';

export { VALIDATION_JOB_TYPE };

/** Items per metrics activity: 5,000 items × a few annotations is one indexed query and a few ms of math. */
export const VALIDATION_PAGE_SIZE = 5000;
/** Pages per workflow run before continue-as-new (1,000,000 items per run at the default page size). */
export const VALIDATION_PAGES_PER_RUN = 200;

export interface StartValidationRequest {
  tenantId: string;
  userId: string;
  projectId: string;
  /** Validate only these items (snapshotted into the job's item list). */
  itemIds?: string[];
  /** Validate the items of this job (e.g. a pre-annotation job). */
  jobId?: string;
  /** What started it: `validate` or `refresh` (recorded in the job params). */
  trigger: 'validate' | 'refresh';
  openConflicts?: boolean;
  pageSize?: number;
  pagesPerRun?: number;
}

/**
 * Creates a validation job (row, and its item snapshot when `itemIds` are given) and starts the
 * `validation` workflow. If Temporal refuses the start the job is marked failed.
 */
export async function startValidation(
  db: Knex,
  client: Client,
  settings: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS'>,
  req: StartValidationRequest,
): Promise<{ jobId: string; workflowId: string; runId: string; total: number | null }> {
  if (req.itemIds && req.jobId) throw new StartJobRejected('job_id', 'give item_ids or job_id, not both');
  const jobId = crypto.randomUUID();
  const workflowId = workflowIds.validation(req.tenantId, jobId);
  let scope: ValidationScope = { kind: 'project' };
  if (req.jobId) {
    const source = await db('jobs').where({ id: req.jobId, tenant_id: req.tenantId, project_id: req.projectId }).first('id');
    if (!source) throw new StartJobRejected('job_id', `job ${req.jobId} not found in this project`);
    scope = { kind: 'job', jobId: req.jobId };
  } else if (req.itemIds) {
    scope = { kind: 'job', jobId };
  }

  const total = await db.transaction(async (trx) => {
    await trx('jobs').insert({
      id: jobId,
      tenant_id: req.tenantId,
      project_id: req.projectId,
      type: VALIDATION_JOB_TYPE,
      status: 'pending',
      workflow_id: workflowId,
      params: JSON.stringify({
        trigger: req.trigger,
        scope: req.jobId ? { job_id: req.jobId } : req.itemIds ? { item_ids: req.itemIds.length } : 'project',
      }),
      created_by: req.userId,
    });
    if (!req.itemIds) return null;
    const unique = [...new Set(req.itemIds)];
    const found = new Set<string>();
    for (let i = 0; i < unique.length; i += 5000) {
      const rows = await trx('items').where({ project_id: req.projectId, tenant_id: req.tenantId }).whereIn('id', unique.slice(i, i + 5000)).pluck('id');
      rows.forEach((id: string) => found.add(id));
    }
    const missing = unique.filter((id) => !found.has(id));
    if (missing.length) {
      throw new StartJobRejected('item_ids', `${missing.length} item(s) not found in this project, e.g. ${missing.slice(0, 3).join(', ')}`);
    }
    for (let i = 0; i < unique.length; i += 5000) {
      await trx('job_items').insert(unique.slice(i, i + 5000).map((itemId, k) => ({ job_id: jobId, seq: i + k, item_id: itemId })));
    }
    return unique.length;
  });

  const input: ValidationInput = {
    tenantId: req.tenantId,
    projectId: req.projectId,
    jobId,
    scope,
    pageSize: req.pageSize ?? VALIDATION_PAGE_SIZE,
    pagesPerRun: req.pagesPerRun ?? VALIDATION_PAGES_PER_RUN,
    openConflicts: req.openConflicts ?? true,
    taskQueue: settings.TEMPORAL_TASK_QUEUE,
    heartbeatTimeoutSeconds: settings.ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS,
  };
  try {
    const handle = await client.workflow.start('validation', {
      taskQueue: settings.TEMPORAL_TASK_QUEUE,
      workflowId,
      args: [input],
      typedSearchAttributes: [
        { key: TENANT_ID, value: req.tenantId },
        { key: PROJECT_ID, value: req.projectId },
        { key: JOB_TYPE, value: VALIDATION_JOB_TYPE },
      ],
    });
    await db('jobs').where({ id: jobId }).update({ run_id: handle.firstExecutionRunId });
    return { jobId, workflowId, runId: handle.firstExecutionRunId, total };
  } catch (err) {
    await db('jobs').where({ id: jobId }).update({ status: 'failed', error: `workflow start failed: ${(err as Error).message}`, updated_at: db.fn.now() });
    throw err;
  }
}
