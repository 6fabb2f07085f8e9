import { z } from 'zod';
import { AnnotationValueSchema } from '../input/annotation-value';

/** An item's final label with its provenance, as `final_labels` keeps it (src/data/final-labels.ts). */
export const FinalLabelSchema = z
  .object({
    status: z.enum(['labelled', 'unresolved']).meta({ description: '`unresolved`: the human annotations tie and nothing settled it yet' }),
    value: AnnotationValueSchema.nullable().meta({ description: 'The label (`{"label"}` or `{"labels"}`); null when unresolved' }),
    source: z
      .enum(['expert', 'gold', 'auto', 'consensus', 'ai'])
      .meta({ description: 'What decided it, by precedence: expert resolution > gold > automatic resolution > consensus of humans > AI (auto-accepted)' }),
    method: z.string().meta({ description: 'expert, gold, dawid_skene, majority_vote (automatic resolutions), unanimous, majority, single, tie (consensus), ai' }),
    decided_by: z.string().meta({ description: 'A user id (expert), `system` (automatic), `gold`, `consensus`, or the engine id (AI)' }),
    decided_at: z.string(),
    conflict_id: z.uuid().nullable(),
    engine_id: z.string().nullable(),
    confidence: z.number().nullable(),
    inputs: z
      .array(z.object({ annotation_id: z.string(), annotator_id: z.string().optional(), engine_id: z.string().optional(), label: z.string().nullable() }))
      .meta({ description: 'The annotations the decision was taken on' }),
    details: z.record(z.string(), z.unknown()).meta({ description: 'Votes, tied labels, the reason of a resolution' }),
  })
  .meta({ id: 'FinalLabel' });
