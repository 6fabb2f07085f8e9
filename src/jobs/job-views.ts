import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { progressView, ZERO_COUNTERS, type JobCounters, type JobProgressView, type JobStatus } from '../annotation/job-progress';
import { temporalUiLink } from '../temporal/workflow-ids';
import { canonicalDecimal } from '../annotation/budget';
import type { PreAnnotationProgress } from '../../workflows/pre-annotation';
import { stallOf } from './stalled';
import { iso } from '../formats';

export interface JobRow {
  id: string;
  tenant_id: string;
  project_id: string;
  type: string;
  status: JobStatus;
  workflow_id: string;
  run_id: string | null;
  params: Record<string, unknown>;
  progress: Record<string, unknown>;
  result: Record<string, unknown> | null;
  error: string | null;
  created_by: string;
  created_at: Date;
  started_at: Date | null;
  updated_at: Date;
  completed_at: Date | null;
  /** LLM spend, numeric(20,10) as a string; equals the sum of the job's llm_usage rows. */
  cost_usd?: string;
}

/** What a job has spent and may spend; the pause reason while paused ('manual' | 'budget'). */
export interface JobSpend {
  spent_usd: string;
  max_cost_usd: string | null;
  pause_reason?: string | null;
}

/** Jobs whose workflow answers the `progress` query (PreAnnotationProgress's shape) while open. */
export const LIVE_PROGRESS_TYPES = ['pre_annotation', 'batch_coverage'];

/** Spend from the row (exact: the ledger's sum), the budget from the live run when known. */
export function spendOf(job: JobRow, live?: { maxCostUsd?: string | null; pauseReason?: string | null }): JobSpend {
  const max = live?.maxCostUsd !== undefined ? live.maxCostUsd : (job.params?.max_cost_usd as string | undefined);
  const reason = live ? live.pauseReason : job.status === 'paused' ? ((job.progress?.pause_reason as string | undefined) ?? 'manual') : null;
  return {
    spent_usd: canonicalDecimal(job.cost_usd ?? '0'),
    max_cost_usd: max ?? null,
    ...(reason ? { pause_reason: reason } : {}),
  };
}

export const OPEN_STATUSES: JobStatus[] = ['pending', 'running', 'paused'];

export async function findJob(db: Knex, tenantId: string, jobId: string, type?: string): Promise<JobRow | undefined> {
  const q = db('jobs').where({ id: jobId, tenant_id: tenantId });
  if (type) q.andWhere({ type });
  return q.first();
}

function countersOf(progress: Record<string, unknown>): JobCounters {
  const n = (k: keyof JobCounters) => Number(progress?.[k] ?? 0);
  return { processed: n('processed'), succeeded: n('succeeded'), failed: n('failed'), auto_accepted: n('auto_accepted'), needs_review: n('needs_review') };
}

/** Progress from the job row: right once the run is closed, a little behind while it runs. */
export function progressFromRow(job: JobRow): JobProgressView & JobSpend {
  const view = progressView({
    status: job.status,
    total: Number(job.progress?.total ?? 0),
    counters: { ...ZERO_COUNTERS, ...countersOf(job.progress) },
    startedAt: iso(job.started_at),
    updatedAt: iso(job.updated_at),
  });
  return { ...view, ...spendOf(job) };
}

/** A job whose workflow task keeps failing: `status: 'stalled'` and the failure's message. */
export type CurrentProgress = (JobProgressView | (Omit<JobProgressView, 'status'> & { status: 'stalled'; error: string })) & JobSpend;

/**
 * Live progress while the workflow runs (its `progress` query), else the row. If the query
 * cannot be answered (no worker right now) the row is the best truth we have — unless the
 * workflow is stuck (its workflow task keeps failing), which says so: status `stalled`.
 */
export async function currentProgress(client: Client, job: JobRow): Promise<CurrentProgress> {
  if (!OPEN_STATUSES.includes(job.status)) return progressFromRow(job);
  if (!LIVE_PROGRESS_TYPES.includes(job.type)) return stalledOr(client, job, progressFromRow(job));
  try {
    // A deadline on the call itself: a stuck run never answers, and the call must not outlive the request.
    const live = await client.withDeadline(Date.now() + 3000, () =>
      client.workflow.getHandle(job.workflow_id).query<PreAnnotationProgress>('progress'),
    );
    const view = progressView({
      status: live.status,
      total: live.total,
      counters: live.counters,
      startedAt: live.startedAt,
      updatedAt: live.updatedAt,
    });
    return { ...view, ...spendOf(job, live) };
  } catch {
    return stalledOr(client, job, progressFromRow(job));
  }
}

async function stalledOr(client: Client, job: JobRow, progress: JobProgressView & JobSpend): Promise<CurrentProgress> {
  const stall = await stallOf(client, job.workflow_id);
  return stall ? { ...progress, status: 'stalled', error: `workflow task failed ${stall.attempts} times: ${stall.message}` } : progress;
}

export interface JobLinks {
  self: string;
  progress: string;
  results?: string;
  temporal_ui: string;
}

export function jobLinks(job: Pick<JobRow, 'id' | 'type' | 'workflow_id' | 'run_id'>, uiUrl: string, namespace: string): JobLinks {
  const base = '/api/v1/annotation';
  const links: JobLinks = {
    self: `${base}/jobs/${job.id}`,
    progress: `${base}/jobs/${job.id}`,
    temporal_ui: temporalUiLink(uiUrl, namespace, job.workflow_id, job.run_id),
  };
  if (job.type === 'pre_annotation') {
    links.progress = `${base}/pre-annotate/${job.id}/progress`;
    links.results = `${base}/pre-annotate/${job.id}/results`;
  }
  if (job.type === 'batch_coverage') links.results = `${base}/batch-coverage/${job.id}/results`;
  return links;
}

/** The job as the API shows it. */
export function presentJob(job: JobRow, progress: CurrentProgress, links: JobLinks) {
  return {
    job_id: job.id,
    type: job.type,
    project_id: job.project_id,
    status: progress.status,
    workflow_id: job.workflow_id,
    run_id: job.run_id,
    params: job.params,
    progress,
    result: job.result,
    error: job.error ?? ('error' in progress ? progress.error : null),
    created_by: job.created_by,
    created_at: iso(job.created_at),
    started_at: iso(job.started_at),
    updated_at: iso(job.updated_at),
    completed_at: iso(job.completed_at),
    links,
  };
}

/** One page of a pre-annotation job's results, in the job's item order. */
export async function preAnnotationResults(db: Knex, jobId: string, page: number, pageSize: number, status?: string) {
  const base = db('annotations as a').join('job_items as ji', function () {
    this.on('ji.job_id', 'a.job_id').andOn('ji.item_id', 'a.item_id');
  }).where('a.job_id', jobId);
  if (status) base.andWhere('a.status', status);
  const [{ count }] = await base.clone().count({ count: '*' });
  const rows = await base
    .clone()
    .join('items as i', 'i.id', 'a.item_id')
    .orderBy('ji.seq')
    .offset((page - 1) * pageSize)
    .limit(pageSize)
    .select('a.item_id', 'i.external_id', 'a.value', 'a.confidence', 'a.engine_id', 'a.status', 'a.error', 'a.created_at');
  return {
    total: Number(count),
    items: rows.map((r) => ({
      item_id: r.item_id,
      external_id: r.external_id,
      value: r.value,
      confidence: r.confidence,
      engine_id: r.engine_id,
      status: r.status,
      ...(r.error ? { error: r.error } : {}),
      created_at: iso(r.created_at),
    })),
  };
}
