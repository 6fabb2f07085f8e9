import { z } from 'zod';
import { paginationQuery } from '../middleware/pagination';
import { AnnotationValueSchema } from '../pre-annotation/schema';

export const FEEDBACK_ACTIONS = ['accept', 'reject', 'modify'] as const;

export const SuggestionBody = z
  .strictObject({
    project_id: z.uuid(),
    item_id: z.uuid().optional().meta({ description: 'An item of the project (its data.text is annotated)' }),
    data: z.looseObject({ text: z.string().min(1).max(100_000) }).optional().meta({ description: 'Or free text not stored as an item' }),
    engine_id: z.uuid().optional().meta({ description: 'Default: the project’s routing default engine, else the built-in local engine' }),
    instructions: z.string().max(8000).optional(),
  })
  .refine((b) => (b.item_id === undefined) !== (b.data === undefined), { message: 'give item_id or data, exactly one', path: ['item_id'] })
  .meta({ id: 'SuggestionRequest' });

const FailedAttempt = z.object({ engine_id: z.string(), reason: z.string() });

export const SuggestionResponse = z
  .object({
    suggestion_id: z.uuid(),
    project_id: z.uuid(),
    item_id: z.uuid().nullable(),
    value: AnnotationValueSchema,
    confidence: z.number(),
    engine_id: z.uuid(),
    model: z.string().optional().meta({ description: 'The model that answered (POST only)' }),
    latency_ms: z.number().int().meta({ description: 'Time the answering engine took (0-ish for a cache hit)' }),
    cached: z.boolean(),
    failed_attempts: z.array(FailedAttempt).meta({ description: 'Engines tried before the one that answered, with why each failed' }),
    created_at: z.string(),
  })
  .meta({ id: 'Suggestion' });

export const FeedbackBody = z
  .strictObject({
    suggestion_id: z.uuid(),
    action: z.enum(FEEDBACK_ACTIONS),
    corrected_value: z.unknown().optional().meta({ description: 'Required for modify: `{"label"}` or `{"labels": [...]}` from the project’s label schema' }),
  })
  .meta({ id: 'SuggestionFeedback' });
export type FeedbackInput = z.output<typeof FeedbackBody>;

export const FeedbackResponse = z
  .object({
    suggestion_id: z.uuid(),
    project_id: z.uuid(),
    engine_id: z.uuid().nullable(),
    action: z.enum(FEEDBACK_ACTIONS),
    suggested_value: AnnotationValueSchema,
    corrected_value: AnnotationValueSchema.nullable(),
    final_value: AnnotationValueSchema.nullable().meta({ description: 'The value people settled on (null when rejected)' }),
    few_shot: z.enum(['added', 'removed', 'unchanged']).meta({ description: 'What the feedback did to the project’s few-shot pool' }),
    feedback_by: z.string(),
    feedback_at: z.string(),
  })
  .meta({ id: 'SuggestionFeedbackResult' });

export const HistoryQuery = paginationQuery.extend({
  project_id: z.uuid(),
  item_id: z.uuid().optional(),
  engine_id: z.uuid().optional(),
  feedback: z.enum([...FEEDBACK_ACTIONS, 'none']).optional().meta({ description: 'Only suggestions with this feedback (none: without)' }),
});

export const HistoryEntry = SuggestionResponse.extend({
  text: z.string(),
  created_by: z.string(),
  feedback: z
    .object({ action: z.enum(FEEDBACK_ACTIONS), corrected_value: AnnotationValueSchema.nullable(), by: z.string(), at: z.string() })
    .nullable(),
}).meta({ id: 'SuggestionHistoryEntry' });
