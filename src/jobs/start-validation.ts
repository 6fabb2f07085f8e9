import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Config } from '../config';
import { workflowIds } from '../temporal/workflow-ids';
import { validation, type ValidationInput } from '../../workflows/validation';
import { VALIDATION_JOB_TYPE } from './job-types';
import { startJob, StartJobRejected, type StartedJob } from './lifecycle';

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
 * validation workflow. If Temporal refuses the start the job is marked failed.
 */
export async function startValidation(
  db: Knex,
  client: Client,
  settings: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS'> & Partial<Pick<Config, 'tenantFairnessWeights'>>,
  req: StartValidationRequest,
): Promise<StartedJob> {
  if (req.itemIds && req.jobId) throw new StartJobRejected('job_id', 'give item_ids or job_id, not both');
  const jobId = crypto.randomUUID();
  const workflowId = workflowIds.validation(req.tenantId, jobId);
  let scope: ValidationInput['scope'] = { kind: 'project' };
  if (req.jobId) {
    const source = await db('jobs').where({ id: req.jobId, tenant_id: req.tenantId, project_id: req.projectId }).first('id');
    if (!source) throw new StartJobRejected('job_id', `job ${req.jobId} not found in this project`);
    scope = { kind: 'job', jobId: req.jobId };
  } else if (req.itemIds) {
    scope = { kind: 'job', jobId };
  }

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
  return startJob(
    db,
    client,
    {
      id: jobId,
      tenantId: req.tenantId,
      projectId: req.projectId,
      type: VALIDATION_JOB_TYPE,
      workflowId,
      createdBy: req.userId,
      params: {
        trigger: req.trigger,
        scope: req.jobId ? { job_id: req.jobId } : req.itemIds ? { item_ids: req.itemIds.length } : 'project',
      },
    },
    req.itemIds ? { kind: 'ids', itemIds: req.itemIds } : { kind: 'none' },
    { workflow: validation, args: [input], taskQueue: settings.TEMPORAL_TASK_QUEUE, fairnessWeights: settings.tenantFairnessWeights },
  );
}
