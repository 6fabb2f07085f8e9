import { z } from 'zod';
import { paginationQuery } from '../middleware/pagination';
import { AnnotationValueSchema } from '../pre-annotation/schema';

export const MAX_COVERAGE_ITEMS = 100_000;

export const BatchCoverageBody = z
  .object({
    project_id: z.uuid(),
    source_item_id: z.uuid().meta({ description: 'The item whose value is applied to the items most like it (never to itself)' }),
    value: AnnotationValueSchema.meta({ description: 'A value of the project’s label schema: {"label"} or {"labels": [...]}' }),
    similarity_threshold: z
      .number()
      .min(0)
      .max(1)
      .default(0.6)
      .meta({ description: 'Trigram similarity (pg_trgm `similarity()`) at or above which an item is covered' }),
    max_items: z
      .number()
      .int()
      .min(1)
      .max(MAX_COVERAGE_ITEMS)
      .default(1000)
      .meta({ description: 'At most this many suggestions, the first matches in the project’s item order' }),
  })
  .strict()
  .meta({ id: 'BatchCoverageRequest' });

export const CoverageResultsQuery = paginationQuery;

export const BatchCoverageSuggestion = z
  .object({
    item_id: z.uuid(),
    external_id: z.string().nullable(),
    value: AnnotationValueSchema,
    confidence: z.number().meta({ description: 'The item’s trigram similarity to the source item' }),
    status: z.string().meta({ description: '`needs_review` until a person accepts or rejects it' }),
    created_at: z.string().nullable(),
  })
  .meta({ id: 'BatchCoverageSuggestion' });
