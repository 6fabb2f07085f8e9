import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Config } from '../config';
import type { AnnotationValue } from '../llm/types';
import { workflowIds } from '../temporal/workflow-ids';
import { batchCoverage, type BatchCoverageInput } from '../../workflows/batch-coverage';
import { BATCH_COVERAGE_JOB_TYPE } from './job-types';
import { startJob, type StartedJob } from './lifecycle';
export const BATCH_COVERAGE_PAGE_SIZE = 1000;
export const BATCH_COVERAGE_PAGES_PER_RUN = 100;

export interface StartBatchCoverageRequest {
  tenantId: string;
  userId: string;
  projectId: string;
  sourceItemId: string;
  /** Already validated against the project's label schema. */
  value: AnnotationValue;
  similarityThreshold: number;
  maxItems: number;
  pageSize?: number;
  pagesPerRun?: number;
}

/**
 * Creates a batch-coverage job (its row, then its workflow). If Temporal
 * refuses the start, the job is marked failed, never left pending.
 */
export async function startBatchCoverage(
  db: Knex,
  client: Client,
  settings: Pick<Config, 'TEMPORAL_TASK_QUEUE'> & Partial<Pick<Config, 'tenantFairnessWeights'>>,
  req: StartBatchCoverageRequest,
): Promise<StartedJob> {
  const jobId = crypto.randomUUID();
  const workflowId = workflowIds.batchCoverage(req.tenantId, jobId);
  const input: BatchCoverageInput = {
    tenantId: req.tenantId,
    projectId: req.projectId,
    jobId,
    sourceItemId: req.sourceItemId,
    value: req.value,
    similarityThreshold: req.similarityThreshold,
    maxItems: req.maxItems,
    pageSize: req.pageSize ?? BATCH_COVERAGE_PAGE_SIZE,
    pagesPerRun: req.pagesPerRun ?? BATCH_COVERAGE_PAGES_PER_RUN,
  };
  return startJob(
    db,
    client,
    {
      id: jobId,
      tenantId: req.tenantId,
      projectId: req.projectId,
      type: BATCH_COVERAGE_JOB_TYPE,
      workflowId,
      createdBy: req.userId,
      params: {
        source_item_id: req.sourceItemId,
        value: req.value,
        similarity_threshold: req.similarityThreshold,
        max_items: req.maxItems,
      },
      // The workflow's first activity counts the project's items.
      progress: { total: 0, processed: 0 },
    },
    { kind: 'none' },
    { workflow: batchCoverage, args: [input], taskQueue: settings.TEMPORAL_TASK_QUEUE, fairnessWeights: settings.tenantFairnessWeights },
  );
}
