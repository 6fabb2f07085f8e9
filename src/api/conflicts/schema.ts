import { z } from 'zod';
import { paginationQuery } from '../middleware/pagination';
import { AnnotationValueSchema } from '../pre-annotation/schema';
import { ProjectParams } from '../projects/schema';
import { IdempotencyKey } from '../tasks/schema';

export const CONFLICT_STATUSES = ['open', 'auto_resolved', 'resolved'] as const;

export { ProjectParams };

export const ListConflictsQuery = paginationQuery.extend({
  status: z.enum(CONFLICT_STATUSES).optional(),
});

export const ResolveConflictBody = z
  .object({
    conflict_id: z.uuid(),
    value: AnnotationValueSchema,
    reason: z.string().max(4000).optional(),
    idempotency_key: IdempotencyKey.optional(),
  })
  .strict()
  .meta({ id: 'ResolveConflict' });

export const ConflictResponse = z
  .object({
    conflict_id: z.uuid(),
    project_id: z.uuid(),
    item_id: z.uuid(),
    status: z.enum(CONFLICT_STATUSES),
    method: z.string().nullable().meta({ description: 'majority_vote | dawid_skene | expert' }),
    resolved_value: AnnotationValueSchema.nullable(),
    resolved_by: z.string().nullable(),
    reason: z.string().nullable(),
    inputs: z.array(z.object({ annotation_id: z.string().optional(), annotator_id: z.string(), value: z.unknown() })),
    task_id: z.uuid().nullable(),
    workflow_id: z.string().nullable(),
    created_at: z.string(),
    resolved_at: z.string().nullable(),
  })
  .meta({ id: 'Conflict' });
