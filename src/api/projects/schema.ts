import { z } from 'zod';
import { paginationQuery } from '../middleware/pagination';

export const LABEL_SCHEMA_TYPES = ['single_label', 'multi_label'] as const;

// `regex(/\S/)` documents what trim + min(1) enforce: not blank (the document shows it as a pattern).
const label = z.string().trim().min(1, 'labels must be non-empty').max(200).regex(/\S/, 'labels must be non-empty');

export const SCALE_TYPES = ['interval', 'ratio'] as const;

// A label that reads as a finite number (a scale's labels): "1", "-0.5", "2.5e3".
const NUMERIC_LABEL = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

/**
 * The level of measurement lives in the schema (docs/QUALITY.md): nominal by default, `ordered`
 * for ranks listed lowest first, `scale` for numbers (interval: differences mean something;
 * ratio: there is a true zero, so values are ≥ 0). A scale is ordered by its numbers, so its
 * labels are listed in ascending numeric order. Single-label only: a set of labels has no rank.
 */
export const LabelSchema = z
  .object({
    // Span and free-text schemas may come later; until then anything else is a 422.
    type: z.enum(LABEL_SCHEMA_TYPES),
    labels: z
      .array(label)
      .min(1)
      .max(200)
      .refine((labels) => new Set(labels).size === labels.length, 'labels must be unique'),
    ordered: z
      .boolean()
      .optional()
      .meta({ description: 'The labels are ranks, listed lowest first: agreement is measured at the ordinal level (single_label only)' }),
    scale: z
      .object({ type: z.enum(SCALE_TYPES) })
      .strict()
      .optional()
      .meta({
        description:
          'The labels are numbers on an interval or ratio scale, listed in ascending order: agreement is measured at that level (single_label only; ratio values are ≥ 0)',
      }),
  })
  .superRefine((schema, ctx) => {
    const nonNominal = schema.ordered === true || schema.scale !== undefined;
    if (nonNominal && schema.type === 'multi_label') {
      ctx.addIssue({ code: 'custom', path: [schema.scale ? 'scale' : 'ordered'], message: 'a multi_label schema is nominal: ordered and scale are for single_label' });
    }
    if (!schema.scale) return;
    if (schema.ordered === false) ctx.addIssue({ code: 'custom', path: ['ordered'], message: 'a scale is ordered by its numbers' });
    const values = schema.labels.map((l) => (NUMERIC_LABEL.test(l) ? Number(l) : NaN));
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad !== -1) {
      ctx.addIssue({ code: 'custom', path: ['labels', bad], message: 'the labels of a scale must be numbers' });
      return;
    }
    const unsorted = values.findIndex((v, i) => i > 0 && v <= values[i - 1]);
    if (unsorted !== -1) ctx.addIssue({ code: 'custom', path: ['labels', unsorted], message: 'the labels of a scale are listed in ascending numeric order' });
    const negative = values.findIndex((v) => v < 0);
    if (schema.scale.type === 'ratio' && negative !== -1) ctx.addIssue({ code: 'custom', path: ['labels', negative], message: 'a ratio scale has no negative values' });
  })
  .meta({ id: 'LabelSchema' });

export type LabelSchemaValue = z.output<typeof LabelSchema>;

export const REVIEW_STRATEGIES = ['least_loaded', 'round_robin'] as const;

export const ROUTING_DEFAULTS = {
  high_confidence_threshold: 0.85,
  low_confidence_threshold: 0.5,
  default_engine_id: null as string | null,
  fallback_engine_ids: [] as string[],
  review_strategy: 'least_loaded' as (typeof REVIEW_STRATEGIES)[number],
  annotators_per_item: 1,
  default_mode: 'sync' as 'sync' | 'batch',
};

const threshold = z.number().min(0).max(1);

/** Routing as stored on the project: every field present. */
export const Routing = z
  .object({
    high_confidence_threshold: threshold,
    low_confidence_threshold: threshold,
    default_engine_id: z.uuid().nullable(),
    fallback_engine_ids: z.array(z.uuid()).max(20),
    review_strategy: z.enum(REVIEW_STRATEGIES),
    annotators_per_item: z.number().int().min(1).max(20),
    default_mode: z.enum(['sync', 'batch']).meta({ description: 'Pre-annotation mode when a request gives none (`batch`: the provider batch API, at its batch price)' }),
  })
  .meta({ id: 'Routing' });

export type RoutingValue = z.output<typeof Routing>;

/** Routing as a client sends it: any subset, the rest from ROUTING_DEFAULTS. */
export const RoutingInput = Routing.partial()
  .transform((r) => ({ ...ROUTING_DEFAULTS, ...stripUndefined(r) }))
  .refine((r) => r.low_confidence_threshold < r.high_confidence_threshold, {
    message: 'low_confidence_threshold must be below high_confidence_threshold',
    path: ['low_confidence_threshold'],
  });

export const CreateProjectBody = z
  .object({
    name: z.string().trim().min(1).max(200).regex(/\S/, 'must not be blank'),
    label_schema: LabelSchema,
    guidelines: z.string().max(100_000).nullish(),
    routing: RoutingInput.optional(),
  })
  .meta({ id: 'CreateProject' });

export const ProjectParams = z.object({ project_id: z.uuid().meta({ description: 'Project id' }) });

export const ListProjectsQuery = paginationQuery;

export const ProjectResponse = z
  .object({
    id: z.uuid(),
    name: z.string(),
    label_schema: LabelSchema,
    guidelines: z.string().nullable(),
    routing: Routing,
    created_by: z.string(),
    created_at: z.string().meta({ format: 'date-time' }),
    updated_at: z.string().meta({ format: 'date-time' }),
  })
  .meta({ id: 'Project' });

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
