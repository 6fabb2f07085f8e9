import { z } from 'zod';
import { MEASUREMENT_LEVELS } from '../../quality/measurement-level';
import { paginationQuery } from '../middleware/pagination';

export const MAX_VALIDATE_ITEM_IDS = 100_000;

export const ValidateBody = z
  .object({
    project_id: z.uuid(),
    item_ids: z.array(z.uuid()).min(1).max(MAX_VALIDATE_ITEM_IDS).optional().meta({ description: 'Validate only these items' }),
    job_id: z.uuid().optional().meta({ description: 'Validate the items of this job (e.g. a pre-annotation job); not with item_ids' }),
  })
  .strict()
  .meta({ id: 'ValidateRequest' });

export const RefreshBody = z.object({ project_id: z.uuid() }).strict().meta({ id: 'QualityMetricsRefreshRequest' });

export const ProjectParams = z.object({ project_id: z.uuid().meta({ description: 'Project id' }) });

const Bound = z.object({ alert: z.number().optional(), warning: z.number().optional() });

export const QualityReport = z
  .object({
    project_id: z.uuid(),
    computed_at: z.string(),
    agreement: z.object({
      krippendorff_alpha: z.object({
        nominal: z.number().nullable(),
        ordinal: z.number().nullable().optional().meta({ description: 'For an ordered or numeric label schema' }),
        interval: z.number().nullable().optional().meta({ description: 'For an interval or ratio scale' }),
        ratio: z.number().nullable().optional().meta({ description: 'For a ratio scale' }),
        level: z.enum(MEASUREMENT_LEVELS).optional().meta({ description: 'The label schema’s level of measurement; the thresholds judge α at it' }),
        value: z.number().nullable().optional().meta({ description: 'α at `level`' }),
        pairable_values: z.number().optional().meta({ description: 'Values in items with at least two human ratings' }),
        insufficient_data: z.boolean().optional().meta({ description: 'Fewer pairable values than `thresholds.min_pairable_values`: no alert' }),
      }),
      fleiss_kappa: z.number().nullable(),
      cohen_kappa: z.array(
        z.object({
          annotator_a: z.string(),
          annotator_b: z.string(),
          kappa: z.number().nullable(),
          kappa_linear: z.number().nullable().optional().meta({ description: 'Linear weights over the label order (ordered or numeric schema)' }),
          kappa_quadratic: z.number().nullable().optional().meta({ description: 'Quadratic weights over the label order (ordered or numeric schema)' }),
          n: z.number().int(),
          insufficient_data: z.boolean().optional(),
        }),
      ),
      percent_agreement: z.number().nullable(),
    }),
    annotators: z.array(
      z.object({
        annotator_id: z.string(),
        items: z.number().int(),
        gold_accuracy: z.number().nullable(),
        agreement_with_consensus: z.number().nullable().meta({ description: 'Leave-one-out: the annotator vs the majority of the others' }),
      }),
    ),
    ai: z.object({
      acceptance_rate: z.number().nullable(),
      accuracy_vs_final: z.number().nullable(),
      engines: z.array(
        z.object({
          engine_id: z.string(),
          annotations: z.number().int(),
          failed: z.number().int(),
          accepted: z.number().int(),
          rejected: z.number().int(),
          pending: z.number().int(),
          acceptance_rate: z.number().nullable(),
          compared: z.number().int(),
          accuracy_vs_final: z.number().nullable(),
        }),
      ),
    }),
    inconsistencies: z.number().int(),
    label_distribution: z.object({
      total: z.number().int(),
      order: z.array(z.string()).optional().meta({ description: 'The labels in the schema’s order (then any others): the order of `counts` and `proportions`' }),
      counts: z.record(z.string(), z.number()),
      proportions: z.record(z.string(), z.number()),
    }),
    evidence: z
      .object({
        min_pairable_values: z.number(),
        metrics: z.record(z.string(), z.object({ values: z.number(), insufficient_data: z.boolean() })),
      })
      .optional()
      .meta({ description: 'Per thresholded metric, the values it rests on (AI metrics: items compared, decisions); below the minimum it raises no alert' }),
    thresholds: z
      .object({
        krippendorff_alpha: Bound,
        fleiss_kappa: Bound.optional(),
        percent_agreement: Bound.optional(),
        ai_accuracy_vs_final: Bound.optional(),
        ai_acceptance_rate: Bound.optional(),
        near_duplicate: z.object({ similarity: z.number() }),
        drift: z.object({ window_hours: z.number(), min_items: z.number(), min_drop: z.number(), min_z: z.number() }),
        ai_disagreement: z.object({ min_items: z.number(), min_rate: z.number() }),
        min_pairable_values: z.number().optional().meta({ description: 'Evidence a metric needs before it can alert (default 20)' }),
      })
      .passthrough(),
    passed: z.boolean().meta({ description: 'No metric below its alert threshold (warnings do not fail a report)' }),
  })
  .meta({ id: 'QualityReport' });

export const INCONSISTENCY_KINDS = ['near_duplicate', 'annotator_drift', 'ai_human_disagreement'] as const;

export const InconsistenciesQuery = paginationQuery.extend({
  kind: z.enum(INCONSISTENCY_KINDS).optional(),
  report_id: z.uuid().optional().meta({ description: 'Default: the latest report' }),
});

export const Inconsistency = z
  .object({
    id: z.uuid(),
    kind: z.enum(INCONSISTENCY_KINDS),
    item_ids: z.array(z.string()),
    annotator_id: z.string().nullable(),
    label: z.string().nullable(),
    severity: z.string(),
    details: z.record(z.string(), z.unknown()),
    report_id: z.uuid().nullable(),
    job_id: z.uuid(),
    created_at: z.string(),
  })
  .meta({ id: 'Inconsistency' });

export const QualityMetricsQuery = z.object({ project_id: z.uuid().meta({ description: 'Required' }) });

export const QualityMetricsResponse = z
  .object({
    project_id: z.uuid(),
    latest: z
      .object({
        report_id: z.uuid(),
        job_id: z.uuid(),
        computed_at: z.string(),
        scope: z.record(z.string(), z.unknown()),
        passed: z.boolean(),
        agreement: QualityReport.shape.agreement,
        coverage: z
          .record(z.string(), z.union([z.number(), z.record(z.string(), z.number())]))
          .meta({ description: 'Counts of the report: items, items_with_human, human_ratings, pairable_items, items_with_final_label, unresolved_items, disagreeing_items; final_label_sources: final labels per source (expert, gold, auto, consensus, ai)' }),
        annotators: z.array(z.record(z.string(), z.unknown())),
        ai: QualityReport.shape.ai,
        label_distribution: QualityReport.shape.label_distribution,
        inconsistencies_by_kind: z.record(z.string(), z.number()),
        alerts: z.array(z.object({ metric: z.string(), value: z.number(), severity: z.string(), threshold: z.number() })),
        thresholds: z.record(z.string(), z.unknown()),
        annotator_windows: z.array(
          z.object({
            annotator_id: z.string(),
            windows: z.array(z.object({ window_start: z.string(), items: z.number().int(), agreement: z.number().nullable() })),
          }),
        ),
      })
      .nullable(),
    history: z.array(
      z.object({
        report_id: z.uuid(),
        job_id: z.uuid(),
        computed_at: z.string(),
        scope: z.record(z.string(), z.unknown()),
        krippendorff_alpha: z.number().nullable(),
        fleiss_kappa: z.number().nullable(),
        percent_agreement: z.number().nullable(),
        ai_accuracy_vs_final: z.number().nullable(),
        passed: z.boolean(),
      }),
    ),
  })
  .meta({ id: 'QualityMetrics' });
