import { z } from 'zod';
import { AnnotationValueSchema } from '../input/annotation-value';
import { FinalLabelSchema } from '../final-labels/schema';
import { JOB_VIEW_STATUSES, JobProgress, ProviderBatchProgress } from '../jobs/schema';
import { paginationQuery } from '../middleware/pagination';
import { normalizeBudget } from '../../annotation/budget';

export const MAX_ITEM_IDS = 100_000;

/** A USD budget: a decimal > 0 (JSON number or string, ≤ 10 digits either side), as a canonical string. */
export const BudgetUsd = z
  // Documented as the plain decimals the transform accepts (the > 0 rule stays the transform's).
  .union([z.number().gt(0).max(9_999_999_999), z.string().regex(/^(?:[1-9]\d{0,9}(?:\.\d{1,10})?|0\.\d{1,10})$/, 'a plain decimal such as "2.50"')])
  .transform((v, ctx) => {
    const budget = normalizeBudget(v);
    if (budget === null) {
      ctx.addIssue({ code: 'custom', message: 'must be a plain decimal greater than 0 (digits and an optional point: no sign, exponent or hex) with at most 10 digits before and after the point' });
      return z.NEVER;
    }
    return budget;
  })
  .meta({ description: 'USD, exact decimal (e.g. "2.50" or 2.5)', example: '2.50' });

export const PreAnnotateBody = z
  .object({
    project_id: z.uuid(),
    item_ids: z
      .array(z.uuid())
      .min(1)
      .max(MAX_ITEM_IDS)
      .optional()
      .meta({ description: 'Items to annotate; default: every item of the project with no AI annotation yet' }),
    engine_id: z.uuid().optional().meta({ description: 'Default: the project’s routing default engine, else the built-in local engine' }),
    batch_size: z.number().int().min(1).max(1000).optional().meta({ description: 'Items per activity (default PRE_ANNOTATION_BATCH_SIZE)' }),
    concurrency: z.number().int().min(1).max(1024).optional().meta({ description: 'LLM calls in flight for this job (default LLM_CONCURRENCY)' }),
    instructions: z.string().max(8000).optional().meta({ description: 'Extra instructions added to every prompt' }),
    max_cost_usd: BudgetUsd.optional().meta({
      description:
        'Spend limit in USD. When the job’s LLM spend reaches it, no new batch starts and the job pauses (reason `budget`) until POST …/budget raises it; batches already running finish, so the spend can exceed the budget by at most the batches in flight.',
    }),
    mode: z.enum(['sync', 'batch']).optional().meta({
      description:
        '`sync` (default, unless the project’s routing sets `default_mode`): one LLM call per item. `batch`: the items go through the engine’s provider batch API (OpenAI Batch, Anthropic Message Batches) at its batch price (default half the sync price); results arrive within the provider’s window (24 h, usually minutes). An engine without a batch API (`local`, or `"batch": false`) is a 422 naming it.',
    }),
  })
  .strict()
  .meta({ id: 'PreAnnotateRequest' });

export const BudgetBody = z.object({ max_cost_usd: BudgetUsd }).strict().meta({ id: 'JobBudgetRequest' });

/** Spend fields every pre-annotation progress view carries. */
const SpendFields = {
  spent_usd: z.string().meta({ description: 'LLM spend so far in USD, exact (the sum of the job’s ledger rows)' }),
  max_cost_usd: z.string().nullable().meta({ description: 'The budget in USD, or null' }),
  pause_reason: z.enum(['manual', 'budget']).optional().meta({ description: 'Why the job is paused (only while paused)' }),
};

export const BudgetResponse = z
  .object({
    job_id: z.uuid(),
    workflow_id: z.string(),
    action: z.literal('budget'),
    status: z.enum(JOB_VIEW_STATUSES),
    ...SpendFields,
    links: z.record(z.string(), z.string()),
  })
  .meta({ id: 'JobBudgetAccepted' });

export const ResultsQuery = paginationQuery.extend({
  status: z.enum(['auto_accepted', 'needs_review', 'failed']).optional(),
});

// Defined beside the other shared inputs; exported here too, where its users import it from.
export { AnnotationValueSchema };

export const PreAnnotationResult = z
  .object({
    item_id: z.uuid(),
    external_id: z.string().nullable(),
    value: AnnotationValueSchema.nullable(),
    confidence: z.number().nullable(),
    engine_id: z.uuid().nullable(),
    status: z.enum(['auto_accepted', 'needs_review', 'failed']),
    error: z.string().optional(),
    created_at: z.string().nullable(),
    final_label: FinalLabelSchema.nullable().meta({ description: 'The item’s final label and its provenance (the AI’s own label while nothing above it decided)' }),
  })
  .meta({ id: 'PreAnnotationResult' });

// The job's progress view (the same fields GET /annotation/jobs/{id} shows) with its id.
export const PreAnnotationProgressResponse = JobProgress.extend({
  job_id: z.uuid(),
  mode: z.enum(['sync', 'batch']),
}).meta({ id: 'PreAnnotationProgress' });

export const JobActionResponse = z
  .object({
    job_id: z.uuid(),
    workflow_id: z.string(),
    action: z.enum(['pause', 'resume', 'cancel', 'retry-failed']),
    status: z.enum(JOB_VIEW_STATUSES),
    links: z.record(z.string(), z.string()),
  })
  .meta({ id: 'JobActionAccepted' });
