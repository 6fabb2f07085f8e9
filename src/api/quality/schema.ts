import { z } from 'zod';
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
      krippendorff_alpha: z.object({ nominal: z.number().nullable() }),
      fleiss_kappa: z.number().nullable(),
      cohen_kappa: z.array(z.object({ annotator_a: z.string(), annotator_b: z.string(), kappa: z.number().nullable(), n: z.number().int() })),
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
    label_distribution: z.object({ total: z.number().int(), counts: z.record(z.string(), z.number()), proportions: z.record(z.string(), z.number()) }),
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
        coverage: z.record(z.string(), z.number()),
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
