import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Config } from '../config';
import type { AnnotationValue } from '../llm/types';
import { startJobWorkflow } from './job-workflow';
import { workflowIds } from '../temporal/workflow-ids';
import type { BatchCoverageInput } from '../../workflows/batch-coverage';

export const BATCH_COVERAGE_JOB_TYPE = 'batch_coverage';
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
 * Creates a batch-coverage job (its row, then the `batchCoverage` workflow). If Temporal
 * refuses the start, the job is marked failed, never left pending.
 */
export async function startBatchCoverage(
  db: Knex,
  client: Client,
  settings: Pick<Config, 'TEMPORAL_TASK_QUEUE'>,
  req: StartBatchCoverageRequest,
): Promise<{ jobId: string; workflowId: string; runId: string }> {
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
  await db('jobs').insert({
    id: jobId,
    tenant_id: req.tenantId,
    project_id: req.projectId,
    type: BATCH_COVERAGE_JOB_TYPE,
    status: 'pending',
    workflow_id: workflowId,
    params: JSON.stringify({
      source_item_id: req.sourceItemId,
      value: req.value,
      similarity_threshold: req.similarityThreshold,
      max_items: req.maxItems,
    }),
    progress: JSON.stringify({ total: 0, processed: 0 }),
    created_by: req.userId,
  });
  const { runId } = await startJobWorkflow(db, client, {
    id: jobId,
    tenantId: req.tenantId,
    projectId: req.projectId,
    type: BATCH_COVERAGE_JOB_TYPE,
    workflowType: 'batchCoverage',
    workflowId,
    taskQueue: settings.TEMPORAL_TASK_QUEUE,
    args: [input],
  });
  return { jobId, workflowId, runId };
}
