import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Config } from '../config';
import { BUILTIN_LOCAL_ENGINE_ID } from '../llm/builtin-engines';
import { workflowIds } from '../temporal/workflow-ids';
import { preAnnotation, type PreAnnotationInput } from '../../workflows/pre-annotation';
import { PRE_ANNOTATION_JOB_TYPE } from './job-types';
import type { ProviderBatchSettings } from '../annotation/provider-batching';
import { startJob, startJobWorkflow, StartJobRejected, type StartedJob } from './lifecycle';

export interface StartPreAnnotationRequest {
  tenantId: string;
  userId: string;
  project: { id: string; routing: Record<string, unknown> | null };
  itemIds?: string[];
  engineId?: string;
  batchSize?: number;
  concurrency?: number;
  instructions?: string;
  /** Spend limit in USD, a canonical decimal string (see src/annotation/budget.ts). */
  maxCostUsd?: string;
  /** `batch`: through the provider's batch API; default the project's `routing.default_mode`, else sync. */
  mode?: PreAnnotationMode;
}

export type PreAnnotationMode = 'sync' | 'batch';
export const PRE_ANNOTATION_MODES = ['sync', 'batch'] as const;

/** The settings a pre-annotation run takes (batch size, queues, …). */
export type PreAnnotationSettings = Pick<
  Config,
  | 'TEMPORAL_TASK_QUEUE'
  | 'TEMPORAL_LLM_TASK_QUEUE'
  | 'PRE_ANNOTATION_BATCH_SIZE'
  | 'PRE_ANNOTATION_BATCHES_PER_RUN'
  | 'ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS'
  | 'LLM_CONCURRENCY'
  | 'PROVIDER_BATCH_SIZE'
  | 'PROVIDER_BATCHES_IN_FLIGHT'
  | 'PROVIDER_BATCH_POLL_INITIAL_MS'
  | 'PROVIDER_BATCH_POLL_MAX_MS'
  | 'PROVIDER_BATCH_RETRIES'
  | 'PROVIDER_BATCH_SYNC_RETRY_BELOW'
> &
  Partial<Pick<Config, 'tenantFairnessWeights'>>;

/** Batch mode's settings, as a run carries them. */
export function providerBatchSettings(settings: PreAnnotationSettings): ProviderBatchSettings {
  return {
    chunkSize: settings.PROVIDER_BATCH_SIZE,
    inFlight: settings.PROVIDER_BATCHES_IN_FLIGHT,
    pollInitialMs: settings.PROVIDER_BATCH_POLL_INITIAL_MS,
    pollMaxMs: settings.PROVIDER_BATCH_POLL_MAX_MS,
    retries: settings.PROVIDER_BATCH_RETRIES,
    syncRetryBelow: settings.PROVIDER_BATCH_SYNC_RETRY_BELOW,
  };
}

/**
 * Creates a pre-annotation job: the job row, its item snapshot and total (one statement), then
 * the workflow. If Temporal refuses the start, the job is marked failed, never left pending.
 */
export async function startPreAnnotation(db: Knex, client: Client, settings: PreAnnotationSettings, req: StartPreAnnotationRequest): Promise<StartedJob & { total: number }> {
  const routing = req.project.routing ?? {};
  const engineId = req.engineId ?? (routing.default_engine_id as string | undefined) ?? BUILTIN_LOCAL_ENGINE_ID;
  const fallbackEngineIds = Array.isArray(routing.fallback_engine_ids) ? (routing.fallback_engine_ids as string[]) : [];
  const engine = await db('engines')
    .where({ id: engineId, enabled: true })
    .andWhere((q) => q.where('tenant_id', req.tenantId).orWhereNull('tenant_id'))
    .first('id', 'provider', 'batch');
  if (!engine) throw new StartJobRejected(req.engineId ? 'engine_id' : 'project.routing.default_engine_id', `engine ${engineId} not found`);
  const mode: PreAnnotationMode = req.mode ?? (routing.default_mode === 'batch' ? 'batch' : 'sync');
  if (mode === 'batch' && (engine.provider === 'local' || engine.batch === false || !['openai', 'anthropic'].includes(engine.provider))) {
    throw new StartJobRejected(
      req.mode ? 'mode' : 'project.routing.default_mode',
      engine.provider === 'local'
        ? `engine ${engineId} is a local engine: it has no batch API (use mode "sync")`
        : `engine ${engineId} does not allow batch mode ("batch": false); use mode "sync" or another engine`,
    );
  }

  const jobId = crypto.randomUUID();
  const workflowId = workflowIds.preAnnotation(req.tenantId, jobId);
  const input: PreAnnotationInput = {
    tenantId: req.tenantId,
    projectId: req.project.id,
    jobId,
    engineId,
    fallbackEngineIds,
    batchSize: req.batchSize ?? settings.PRE_ANNOTATION_BATCH_SIZE,
    concurrency: req.concurrency ?? settings.LLM_CONCURRENCY,
    instructions: req.instructions,
    batchesPerRun: settings.PRE_ANNOTATION_BATCHES_PER_RUN,
    llmTaskQueue: settings.TEMPORAL_LLM_TASK_QUEUE,
    heartbeatTimeoutSeconds: settings.ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS,
    ...(req.maxCostUsd ? { maxCostUsd: req.maxCostUsd } : {}),
    ...(mode === 'batch' ? { mode, providerBatch: providerBatchSettings(settings) } : {}),
  };
  const started = await startJob(
    db,
    client,
    {
      id: jobId,
      tenantId: req.tenantId,
      projectId: req.project.id,
      type: PRE_ANNOTATION_JOB_TYPE,
      workflowId,
      createdBy: req.userId,
      params: {
        engine_id: engineId,
        fallback_engine_ids: fallbackEngineIds,
        batch_size: input.batchSize,
        concurrency: input.concurrency,
        instructions: input.instructions ?? null,
        item_ids: req.itemIds ? req.itemIds.length : 'unannotated',
        mode,
        ...(req.maxCostUsd ? { max_cost_usd: req.maxCostUsd } : {}),
      },
    },
    // Default: every item of the project with no AI annotation yet, in insertion order.
    req.itemIds ? { kind: 'ids', itemIds: req.itemIds } : { kind: 'unannotated' },
    { workflow: preAnnotation, args: [input], taskQueue: settings.TEMPORAL_TASK_QUEUE, fairnessWeights: settings.tenantFairnessWeights },
  );
  return { ...started, total: started.total ?? 0 };
}

/**
 * Starts retry round n of a finished pre-annotation job (POST …/retry-failed): a new run of
 * the same workflow id whose first activity re-queues the job's failed items
 * (`prepareRetryFailed`), so the job's results and counters end in their final state. The run
 * takes the job's own engine, batch size, concurrency, instructions and budget, and today's
 * settings. Refused (StartJobRejected) when the job has no failed items.
 */
export async function retryFailedPreAnnotation(
  db: Knex,
  client: Client,
  settings: PreAnnotationSettings,
  job: { id: string; tenantId: string; projectId: string; workflowId: string; params: Record<string, unknown> },
): Promise<{ runId: string; round: number; failed: number }> {
  const [{ count }] = await db('annotations').where({ job_id: job.id, status: 'failed' }).count({ count: '*' });
  const failed = Number(count);
  if (!failed) throw new StartJobRejected('job_id', 'the job has no failed items to retry');
  const p = job.params;
  const round = Number(p.retry_round ?? 0) + 1;
  const input: PreAnnotationInput = {
    tenantId: job.tenantId,
    projectId: job.projectId,
    jobId: job.id,
    engineId: String(p.engine_id),
    fallbackEngineIds: Array.isArray(p.fallback_engine_ids) ? (p.fallback_engine_ids as string[]) : [],
    batchSize: Number(p.batch_size ?? settings.PRE_ANNOTATION_BATCH_SIZE),
    concurrency: Number(p.concurrency ?? settings.LLM_CONCURRENCY),
    ...(typeof p.instructions === 'string' ? { instructions: p.instructions } : {}),
    batchesPerRun: settings.PRE_ANNOTATION_BATCHES_PER_RUN,
    llmTaskQueue: settings.TEMPORAL_LLM_TASK_QUEUE,
    heartbeatTimeoutSeconds: settings.ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS,
    ...(typeof p.max_cost_usd === 'string' ? { maxCostUsd: p.max_cost_usd } : {}),
    ...(p.mode === 'batch' ? { mode: 'batch' as const, providerBatch: providerBatchSettings(settings) } : {}),
    retryRound: round,
  };
  // The job's row says it ended a moment before its run closes (the run's last command).
  await untilRunCloses(client, job.workflowId, 5000);
  // The workflow id is the job's: Temporal refuses a second start while a run is open, so a
  // double click starts one round (WorkflowExecutionAlreadyStartedError for the other).
  const runId = await startJobWorkflow(
    db,
    client,
    { id: job.id, tenantId: job.tenantId, projectId: job.projectId, type: PRE_ANNOTATION_JOB_TYPE, workflowId: job.workflowId },
    { workflow: preAnnotation, args: [input], taskQueue: settings.TEMPORAL_TASK_QUEUE, fairnessWeights: settings.tenantFairnessWeights },
    { newRunOf: 'retry' },
  );
  return { runId, round, failed };
}

async function untilRunCloses(client: Client, workflowId: string, waitMs: number): Promise<void> {
  const handle = client.workflow.getHandle(workflowId);
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const { status } = await client.withDeadline(deadline, () => handle.describe()).catch(() => ({ status: { name: 'UNKNOWN' } }));
    if (status.name !== 'RUNNING') return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
