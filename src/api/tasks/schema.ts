import { z } from 'zod';
import { ASSIGNMENT_STRATEGIES, TASK_KINDS, TASK_STATUSES } from '../../annotation/assignment';
import { paginationQuery } from '../middleware/pagination';
import { AnnotationValueSchema } from '../pre-annotation/schema';

export const MAX_TASK_ITEMS = 500;
const MAX_DUE_IN_SECONDS = 30 * 24 * 3600;

const userId = z.string().trim().min(1).max(256).regex(/\S/, 'must not be blank');
const dueInSeconds = z.number().int().min(1).max(MAX_DUE_IN_SECONDS).meta({ description: 'Deadline of each assignment, seconds from assignment (default 24 h)' });

/**
 * A decision's idempotency key: sent again with the same key (after a 503 DECISION_PENDING, or an
 * answer lost on the way), the decision answers the first one's outcome instead of deciding twice.
 */
export const IdempotencyKey = z
  .string()
  .min(8)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only')
  .meta({ description: 'Optional; a retry with the same key (same user) answers the first decision’s outcome. A UUID per decision is typical' });

export const TaskParams = z.object({ task_id: z.uuid().meta({ description: 'Task id' }) });

export const ListTasksQuery = paginationQuery.extend({
  project_id: z.uuid().optional(),
  status: z.enum(TASK_STATUSES).optional(),
  assignee_id: z.string().min(1).max(256).optional(),
  kind: z.enum(TASK_KINDS).optional(),
});

export const AssignTaskBody = z
  .object({
    project_id: z.uuid(),
    item_ids: z.array(z.uuid()).min(1).max(MAX_TASK_ITEMS),
    assignee_id: userId.optional().meta({ description: 'An explicit assignee (a project member with the right role); default: picked by `strategy`' }),
    strategy: z.enum(ASSIGNMENT_STRATEGIES).optional().meta({ description: 'Default: the project’s routing.review_strategy' }),
    kind: z.enum(['annotate', 'review']),
    due_in_seconds: dueInSeconds.optional(),
  })
  .strict()
  .meta({ id: 'AssignTask' });

export const AssignedTask = z
  .object({
    task_id: z.uuid(),
    workflow_id: z.string(),
    kind: z.enum(TASK_KINDS),
    assignee_id: z.string().nullable(),
    due_at: z.string().nullable().meta({ format: 'date-time' }),
    status: z.string(),
    item_ids: z.array(z.uuid()),
  })
  .meta({ id: 'AssignedTask' });

export const TaskResponse = z
  .object({
    task_id: z.uuid(),
    project_id: z.uuid(),
    kind: z.enum(TASK_KINDS),
    status: z.enum(TASK_STATUSES),
    item_ids: z.array(z.uuid()),
    assignee_id: z.string().nullable(),
    assignees: z.array(z.string()).meta({ description: 'Everyone the task has been assigned to, in order' }),
    strategy: z.string().nullable(),
    due_at: z.string().nullable(),
    overdue: z.boolean(),
    attempts: z.number().int(),
    workflow_id: z.string(),
    source: z.string(),
    source_id: z.string().nullable(),
    conflict_id: z.uuid().nullable(),
    result: z.record(z.string(), z.unknown()).nullable(),
    created_by: z.string(),
    assigned_at: z.string().nullable(),
    claimed_at: z.string().nullable(),
    escalated_at: z.string().nullable(),
    completed_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Task' });

export const ReviewTasksBody = z
  .object({
    project_id: z.uuid(),
    item_ids: z.array(z.uuid()).min(1).max(10_000),
    reviewer_id: userId.optional(),
    due_in_seconds: dueInSeconds.optional(),
  })
  .strict()
  .meta({ id: 'CreateReviewTasks' });

export const ReviewTasksResponse = z
  .object({ tasks: z.array(AssignedTask), task_size: z.number().int() })
  .meta({ id: 'ReviewTasksCreated' });

export const DecisionBody = z
  .object({
    decision: z.enum(['approve', 'reject', 'modify']),
    value: AnnotationValueSchema.optional(),
    item_ids: z.array(z.uuid()).min(1).max(MAX_TASK_ITEMS).optional().meta({ description: 'Default: every item still undecided' }),
    lead_time_ms: z.number().int().min(0).max(7 * 24 * 3600 * 1000).optional(),
    idempotency_key: IdempotencyKey.optional(),
  })
  .strict()
  .meta({ id: 'ReviewDecision' });

export const DecisionResponse = z
  .object({
    task_id: z.uuid(),
    workflow_id: z.string(),
    decision: z.string(),
    accepted: z.literal(true),
    item_ids: z.array(z.uuid()),
    annotation_ids: z.record(z.string(), z.uuid()),
    decided_by: z.string(),
    remaining: z.number().int(),
    conflicts: z.array(z.object({ item_id: z.uuid(), conflict_id: z.uuid(), created: z.boolean() })),
  })
  .meta({ id: 'ReviewVerdict' });

export const SubmitBody = z
  .object({
    item_id: z.uuid(),
    task_id: z.uuid().optional(),
    value: AnnotationValueSchema,
    lead_time_ms: z.number().int().min(0).max(7 * 24 * 3600 * 1000).optional(),
    idempotency_key: IdempotencyKey.optional().meta({ description: 'With `task_id`: a retry with the same key answers the first submission’s outcome' }),
  })
  .strict()
  .meta({ id: 'SubmitAnnotation' });

export const SubmitResponse = z
  .object({
    annotation_id: z.uuid(),
    item_id: z.uuid(),
    task_id: z.uuid().nullable(),
    value: AnnotationValueSchema,
    annotator_id: z.string(),
    verdict: DecisionResponse.nullable().meta({ description: 'The workflow’s verdict when the annotation belongs to a task' }),
    conflict: z.object({ conflict_id: z.uuid(), created: z.boolean() }).nullable(),
  })
  .meta({ id: 'Submitted' });

export const TaskActionBody = z
  .object({
    assignee_id: userId.optional().meta({ description: 'reassign: the new assignee (default: the strategy’s next pick)' }),
    reason: z.string().max(2000).optional().meta({ description: 'cancel: why' }),
  })
  .strict()
  .meta({ id: 'TaskAction' });

export const TaskActionResponse = z
  .object({ task_id: z.uuid(), workflow_id: z.string(), action: z.enum(['claim', 'release', 'reassign', 'cancel']) })
  .meta({ id: 'TaskActionAccepted' });
