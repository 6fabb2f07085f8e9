import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { canonicalDecimal, compareDecimals } from '../annotation/budget';
import type { JobRow } from '../db/models';
import { cancelSignal, pauseSignal, resumeSignal, setBudgetSignal } from '../../workflows/pre-annotation';
import { cancelStalledJob } from './end-stalled';
import { recordAudit } from '../data/audit';
import { currentProgress, type CurrentProgress } from './job-views';
import { JobActionRefused, JobRequestRejected, OPEN_STATUSES, StartJobRejected } from './lifecycle';
import { retryFailedPreAnnotation, type PreAnnotationSettings } from './start-pre-annotation';

/** What a person can do to a running pre-annotation job (POST …/{action}), and the signal each sends. */
export const PRE_ANNOTATION_ACTIONS = { pause: pauseSignal, resume: resumeSignal, cancel: cancelSignal } as const;
export type PreAnnotationAction = keyof typeof PRE_ANNOTATION_ACTIONS;

/**
 * Pauses, resumes or cancels a pre-annotation job. The row lags the workflow by a moment, so
 * the live progress decides: an ended job refuses (JobActionRefused); a stalled one (its
 * workflow task keeps failing, so it cannot take a signal) refuses all but `cancel`, which
 * terminates its run and records it cancelled.
 */
export async function actOnPreAnnotationJob(db: Knex, client: Client, job: JobRow, action: PreAnnotationAction, actor: string): Promise<void> {
  const before = await currentProgress(client, job);
  if (before.status === 'stalled') {
    if (PRE_ANNOTATION_ACTIONS[action] !== cancelSignal) throw new JobActionRefused(`The job is stalled (${before.error}); cancel ends it`);
    await cancelStalledJob(db, client, job, { actor, stall: before.error });
    return;
  }
  refuseUnlessOpen(before);
  await signalOpenJob(client, job, (handle) => handle.signal(PRE_ANNOTATION_ACTIONS[action]));
  // Who asked; the workflow's own entry (job.paused / job.resumed, actor system) says when it took effect.
  await db.transaction((trx) =>
    recordAudit(trx, {
      tenant_id: job.tenant_id,
      project_id: job.project_id,
      actor,
      action: `job.${action}_requested`,
      entity_type: 'job',
      entity_id: job.id,
      details: { job_type: job.type, status_before: before.status },
    }),
  );
}

/**
 * Sets (raises) a pre-annotation job's budget: the `setBudget` signal, then the job's params.
 * It must exceed what the job has spent (JobRequestRejected on `max_cost_usd`); an ended or
 * stalled job refuses (JobActionRefused). A job paused for its budget resumes by itself.
 */
export async function setPreAnnotationBudget(db: Knex, client: Client, job: JobRow, maxCostUsd: string): Promise<void> {
  refuseUnlessOpen(await currentProgress(client, job));
  const spent = canonicalDecimal(job.cost_usd ?? '0');
  if (compareDecimals(maxCostUsd, spent) <= 0) {
    throw new JobRequestRejected('max_cost_usd', `must be greater than the job's spend so far (${spent} USD)`);
  }
  await signalOpenJob(client, job, (handle) => handle.signal(setBudgetSignal, { maxCostUsd }));
  await db('jobs')
    .where({ id: job.id, tenant_id: job.tenant_id })
    .update({ params: db.raw("params || jsonb_build_object('max_cost_usd', ?::text)", [maxCostUsd]), updated_at: db.fn.now() });
}

/**
 * Re-runs a finished pre-annotation job's failed items (a new run of the same workflow id).
 * Refused (JobActionRefused) while the job is open or stalled, when no item failed, and when a
 * retry already runs (a double click starts one round); a start Temporal refuses is rethrown.
 */
export async function retryFailedItems(db: Knex, client: Client, settings: PreAnnotationSettings, job: JobRow): Promise<void> {
  const before = await currentProgress(client, job);
  if (before.status === 'stalled' || OPEN_STATUSES.includes(before.status)) {
    throw new JobActionRefused(`The job is still ${before.status}; retry its failed items once it has ended`);
  }
  try {
    await retryFailedPreAnnotation(db, client, settings, {
      id: job.id,
      tenantId: job.tenant_id,
      projectId: job.project_id,
      workflowId: job.workflow_id,
      params: job.params,
    });
  } catch (err) {
    if (err instanceof StartJobRejected) throw new JobActionRefused(`Nothing to retry: ${err.message}`);
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new JobActionRefused('A retry of this job is already running');
    throw err;
  }
}

function refuseUnlessOpen(progress: CurrentProgress): void {
  if (progress.status === 'stalled') throw new JobActionRefused(`The job is stalled (${progress.error}); cancel ends it`);
  if (!OPEN_STATUSES.includes(progress.status)) throw new JobActionRefused(`The job has already ended (${progress.status})`);
}

type Handle = ReturnType<Client['workflow']['getHandle']>;

/** A run that closed between the check and the signal has ended too. */
async function signalOpenJob(client: Client, job: JobRow, send: (handle: Handle) => Promise<void>): Promise<void> {
  try {
    await send(client.workflow.getHandle(job.workflow_id));
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') throw new JobActionRefused('The job has already ended');
    throw err;
  }
}
