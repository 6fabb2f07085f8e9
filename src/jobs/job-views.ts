import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { progressView, ZERO_COUNTERS, type JobCounters, type JobProgressView, type JobStatus } from '../annotation/job-progress';
import { canonicalDecimal } from '../annotation/budget';
import type { JobRow } from '../db/models';
import { batchCoverageProgressQuery } from '../../workflows/batch-coverage';
import { progressQuery as preAnnotationProgressQuery } from '../../workflows/pre-annotation';
import { BATCH_COVERAGE_JOB_TYPE, PRE_ANNOTATION_JOB_TYPE } from './job-types';
import { OPEN_STATUSES } from './lifecycle';
import { stallOf } from './stalled';
import { iso } from '../formats';

/** What a job has spent and may spend; the pause reason while paused ('manual' | 'budget'). */
export interface JobSpend {
  spent_usd: string;
  max_cost_usd: string | null;
  pause_reason?: string | null;
}

/** What the live progress queries answer in common (pre-annotation adds its budget). */
interface LiveProgress {
  status: JobStatus;
  total: number;
  counters: JobCounters;
  startedAt: string;
  updatedAt: string;
  maxCostUsd?: string | null;
  pauseReason?: string | null;
}

type Handle = ReturnType<Client['workflow']['getHandle']>;

/** How to ask each job type whose workflow answers a progress query while open. */
const LIVE_PROGRESS: Record<string, (handle: Handle) => Promise<LiveProgress>> = {
  [PRE_ANNOTATION_JOB_TYPE]: (handle) => handle.query(preAnnotationProgressQuery),
  [BATCH_COVERAGE_JOB_TYPE]: (handle) => handle.query(batchCoverageProgressQuery),
};

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
  const ask = LIVE_PROGRESS[job.type];
  if (!ask) return stalledOr(client, job, progressFromRow(job));
  try {
    // A deadline on the call itself: a stuck run never answers, and the call must not outlive the request.
    const live = await client.withDeadline(Date.now() + 3000, () => ask(client.workflow.getHandle(job.workflow_id)));
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
