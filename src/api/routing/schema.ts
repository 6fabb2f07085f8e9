import { z } from 'zod';
import { REVIEW_STRATEGIES, Routing } from '../projects/schema';

export const RoutingConfigQuery = z.object({ project_id: z.uuid().meta({ description: 'Project id' }) });

const threshold = z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1');

/**
 * PUT body: `project_id` and the routing fields to set; fields left out keep their current value.
 * The merged result must have low < high.
 */
export const PutRoutingConfigBody = z
  .strictObject({
    project_id: z.uuid(),
    high_confidence_threshold: threshold.optional().meta({ description: 'At or above: auto-accepted' }),
    low_confidence_threshold: threshold.optional().meta({ description: 'Below: sent to review' }),
    default_engine_id: z.uuid().nullable().optional().meta({ description: 'null: the built-in local engine' }),
    fallback_engine_ids: z
      .array(z.uuid())
      .max(20)
      .refine((ids) => new Set(ids.map((i) => i.toLowerCase())).size === ids.length, 'fallback engines must be unique')
      .optional(),
    review_strategy: z.enum(REVIEW_STRATEGIES).optional(),
    annotators_per_item: z.number().int().min(1).max(20).optional(),
    default_mode: z.enum(['sync', 'batch']).optional().meta({ description: 'Pre-annotation mode when a request gives none; `batch` needs an engine with a batch API' }),
  })
  .refine(
    (b) => b.low_confidence_threshold === undefined || b.high_confidence_threshold === undefined || b.low_confidence_threshold < b.high_confidence_threshold,
    { message: 'low_confidence_threshold must be below high_confidence_threshold', path: ['low_confidence_threshold'] },
  )
  .meta({ id: 'PutRoutingConfig' });

export const RoutingConfigResponse = Routing.extend({
  project_id: z.uuid(),
  updated_at: z.string().nullable(),
}).meta({ id: 'RoutingConfig' });
