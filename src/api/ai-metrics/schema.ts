import { z } from 'zod';
import { EngineUsage } from '../engines/schema';

export const MetricsQuery = z.object({ project_id: z.uuid().optional().meta({ description: 'One project; default every project the caller may see' }) });

const Feedback = z.object({ accepted: z.number().int(), modified: z.number().int(), rejected: z.number().int(), total: z.number().int(), acceptance_rate: z.number().nullable() });
const Reviews = z.object({
  reviewed: z.number().int().meta({ description: 'AI annotations of items that also have a human annotation' }),
  agreed: z.number().int().meta({ description: '…whose latest human value equals the AI value' }),
  acceptance_rate: z.number().nullable(),
});

export const MetricsResponse = z
  .object({
    project_id: z.uuid().nullable(),
    total_annotations: z.number().int().meta({ description: 'Rows in annotations (AI and human)' }),
    ai_annotations: z.number().int().meta({ description: 'AI annotations that produced a value (failed ones excluded)' }),
    failed_ai_annotations: z.number().int(),
    human_annotations: z.number().int(),
    suggestions: z.number().int(),
    acceptance_rate: z.number().nullable().meta({ description: '(accepted feedback + agreeing reviews) / (feedback + reviews); null without either' }),
    feedback: Feedback,
    reviews: Reviews,
    mean_confidence: z.number().nullable().meta({ description: 'Over AI annotations and suggestions' }),
    cost_usd: z.string().meta({ description: 'Exact sum of cost_usd in the llm_usage ledger for this scope (calls still in flight, or of unknown outcome, at their upper-bound cost)' }),
    usage: EngineUsage,
    engines: z.array(
      z.object({
        engine_id: z.uuid(),
        name: z.string().nullable(),
        ai_annotations: z.number().int(),
        suggestions: z.number().int(),
        mean_confidence: z.number().nullable(),
        feedback: Feedback,
        reviews: Reviews,
        acceptance_rate: z.number().nullable(),
        usage: EngineUsage,
      }),
    ),
    labels: z
      .array(z.object({ engine_id: z.uuid().nullable(), label: z.string(), suggestions: z.number().int(), accepted: z.number().int(), modified: z.number().int(), rejected: z.number().int(), acceptance_rate: z.number().nullable() }))
      .meta({ description: 'Acceptance of suggestions per engine and suggested label' }),
  })
  .meta({ id: 'AiMetrics' });
