import { z } from 'zod';
import { JOB_STATUSES } from '../jobs/schema';
import { paginationQuery } from '../middleware/pagination';

export const MAX_ITEM_IDS = 100_000;

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
  })
  .strict()
  .meta({ id: 'PreAnnotateRequest' });

export const ResultsQuery = paginationQuery.extend({
  status: z.enum(['auto_accepted', 'needs_review', 'failed']).optional(),
});

export const AnnotationValueSchema = z.union([
  z.object({ label: z.string() }),
  z.object({ labels: z.array(z.string()) }),
]);

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
  })
  .meta({ id: 'PreAnnotationResult' });

export const PreAnnotationProgressResponse = z
  .object({
    job_id: z.uuid(),
    status: z.enum(JOB_STATUSES),
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
  })
  .meta({ id: 'PreAnnotationProgress' });

export const JobActionResponse = z
  .object({
    job_id: z.uuid(),
    workflow_id: z.string(),
    action: z.enum(['pause', 'resume', 'cancel']),
    status: z.enum(JOB_STATUSES),
    links: z.record(z.string(), z.string()),
  })
  .meta({ id: 'JobActionAccepted' });
