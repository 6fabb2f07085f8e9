import { z } from 'zod';
import { JOB_TYPES } from '../../jobs/job-types';
import { paginationQuery } from '../middleware/pagination';

/** Statuses a job's row takes (the `status` filter of the jobs list). */
export const JOB_STATUSES = ['pending', 'running', 'paused', 'completed', 'failed', 'cancelled'] as const;
/** Statuses a job is shown with: the row's, or `stalled` while its workflow task keeps failing. */
export const JOB_VIEW_STATUSES = [...JOB_STATUSES, 'stalled'] as const;

export const JobParams = z.object({ job_id: z.uuid().meta({ description: 'Job id' }) });

export const JobLinks = z
  .object({
    self: z.string(),
    progress: z.string(),
    results: z.string().optional(),
    temporal_ui: z.string().meta({ description: 'This run in the Temporal UI' }),
  })
  .meta({ id: 'JobLinks' });

export const ProviderBatchProgress = z
  .object({
    id: z.string().nullable().meta({ description: 'The provider’s batch id (null while it is being submitted)' }),
    provider: z.string(),
    status: z.string().meta({ description: 'The provider’s status (OpenAI: validating, in_progress, finalizing, completed, failed, expired, cancelling, cancelled; Anthropic: in_progress, canceling, ended), or `submitting` / `abandoned`' }),
    request_counts: z.record(z.string(), z.number()).meta({ description: 'total, succeeded, errored, processing, expired, cancelled, as the provider last reported' }),
    requests: z.number().int(),
    attempt: z.number().int().meta({ description: '0: the chunk’s first batch; n: its n-th retry of the items that came back failed' }),
    created_at: z.string(),
    expires_at: z.string().nullable(),
    collected: z.boolean().meta({ description: 'Its results are written' }),
  })
  .meta({ id: 'ProviderBatchProgress' });

export const JobProgress = z
  .object({
    status: z.enum(JOB_VIEW_STATUSES).meta({
      description: '`stalled`: the workflow is stuck (its workflow task keeps failing, see `error`); `cancel` still ends it',
    }),
    total: z.number().int(),
    processed: z.number().int(),
    succeeded: z.number().int(),
    failed: z.number().int(),
    auto_accepted: z.number().int(),
    needs_review: z.number().int(),
    percent: z.number(),
    started_at: z.string().nullable(),
    updated_at: z.string().nullable(),
    eta_seconds: z.number().int().nullable(),
    spent_usd: z.string().meta({ description: 'LLM spend in USD, exact (the sum of the job’s ledger rows)' }),
    max_cost_usd: z.string().nullable().meta({ description: 'Budget in USD (pre-annotation), or null' }),
    pause_reason: z.enum(['manual', 'budget']).optional(),
    error: z.string().optional().meta({ description: 'Why the job is stalled: the workflow task failure' }),
    provider_batches: z
      .array(ProviderBatchProgress)
      .optional()
      .meta({ description: 'A batch-mode pre-annotation job (one job’s view, not lists): its provider batches, newest first (at most 100)' }),
  })
  .meta({ id: 'JobProgress' });

export const JobResponse = z
  .object({
    job_id: z.uuid(),
    type: z.string(),
    project_id: z.uuid(),
    status: z.enum(JOB_VIEW_STATUSES),
    workflow_id: z.string(),
    run_id: z.string().nullable(),
    params: z.record(z.string(), z.unknown()),
    progress: JobProgress,
    result: z.record(z.string(), z.unknown()).nullable(),
    error: z.string().nullable(),
    created_by: z.string(),
    created_at: z.string().nullable(),
    started_at: z.string().nullable(),
    updated_at: z.string().nullable(),
    completed_at: z.string().nullable(),
    links: JobLinks,
  })
  .meta({ id: 'Job' });

export const ListJobsQuery = paginationQuery.extend({
  project_id: z.uuid().optional(),
  type: z.enum(JOB_TYPES).optional(),
  status: z.enum(JOB_STATUSES).optional(),
});

/** What starting a job of any kind answers with (202). */
export const JobAccepted = z
  .object({
    job_id: z.uuid(),
    workflow_id: z.string(),
    status: z.enum(JOB_STATUSES).meta({ description: 'The job row’s status: `pending` until its workflow’s first activity runs' }),
    total: z.number().int().nullable().meta({ description: 'Items in the job’s snapshot; null for a job that counts its items when it starts' }),
    links: JobLinks,
  })
  .meta({ id: 'JobAccepted' });
