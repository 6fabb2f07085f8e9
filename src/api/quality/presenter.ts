import type { InconsistencyRecord, QualityReportRow } from '../../db/models';
import { iso } from '../../formats';

/** A report in the dashboard history: its columns and four agreement figures read out of its jsonb. */
export type ReportSummary = Pick<QualityReportRow, 'id' | 'job_id' | 'computed_at' | 'passed' | 'scope'> & {
  krippendorff_alpha: number | null;
  fleiss_kappa: number | null;
  percent_agreement: number | null;
  ai_accuracy_vs_final: number | null;
};

interface StoredDistribution {
  total: number;
  order?: string[];
  counts: Record<string, number>;
  proportions: Record<string, number>;
}

/**
 * A report's label distribution with its keys in label order: jsonb stores object keys sorted by
 * length, so the order comes from the report's `order` (or, for reports written before it, the
 * schema's labels, then the rest). JSON objects still list integer-like keys ("1", "2") first in
 * numeric order whatever the insertion order; `order` is exact for every client.
 */
export function presentLabelDistribution(dist: StoredDistribution | undefined, schemaLabels: readonly string[]): StoredDistribution | undefined {
  if (!dist || typeof dist !== 'object' || !dist.counts) return dist;
  const keys = Object.keys(dist.counts);
  const order = Array.isArray(dist.order) ? dist.order : [...schemaLabels.filter((l) => l in dist.counts), ...keys.filter((k) => !schemaLabels.includes(k))];
  return {
    total: dist.total,
    order,
    counts: Object.fromEntries(order.map((l) => [l, dist.counts[l] ?? 0])),
    proportions: Object.fromEntries(order.map((l) => [l, dist.proportions?.[l] ?? 0])),
  };
}

/** A stored report as GET /annotation/quality-report answers it (label distribution in label order). */
export function presentQualityReport(report: Record<string, unknown>, schemaLabels: readonly string[]): Record<string, unknown> {
  return { ...report, label_distribution: presentLabelDistribution(report.label_distribution as StoredDistribution | undefined, schemaLabels) };
}

export function presentInconsistency(r: InconsistencyRecord) {
  return {
    id: r.id,
    kind: r.kind,
    item_ids: r.item_ids,
    annotator_id: r.annotator_id,
    label: r.label,
    severity: r.severity,
    details: r.details,
    report_id: r.report_id,
    job_id: r.job_id,
    created_at: iso(r.created_at),
  };
}

export function presentReportSummary(r: ReportSummary) {
  return {
    report_id: r.id,
    job_id: r.job_id,
    computed_at: iso(r.computed_at),
    scope: r.scope,
    krippendorff_alpha: r.krippendorff_alpha,
    fleiss_kappa: r.fleiss_kappa,
    percent_agreement: r.percent_agreement,
    ai_accuracy_vs_final: r.ai_accuracy_vs_final,
    passed: r.passed,
  };
}

/** The latest report in detail: its summary row and its `report` and `details` documents. */
export function presentLatestReport(summary: ReportSummary, full: Pick<QualityReportRow, 'report' | 'details'>, schemaLabels: readonly string[] = []) {
  // Documents written by the validation activity; their shape is the report schema's (./schema.ts).
  const report = full.report as Record<string, any>;
  const details = full.details as Record<string, any>;
  return {
    report_id: summary.id,
    job_id: summary.job_id,
    computed_at: iso(summary.computed_at),
    scope: summary.scope,
    passed: summary.passed,
    agreement: report.agreement,
    coverage: details.coverage ?? {},
    annotators: details.annotators ?? report.annotators,
    ai: report.ai,
    label_distribution: presentLabelDistribution(report.label_distribution, schemaLabels),
    inconsistencies_by_kind: details.inconsistencies_by_kind ?? {},
    alerts: details.alerts ?? [],
    thresholds: report.thresholds,
    annotator_windows: annotatorWindows(details.drift_windows ?? {}, Number(report.thresholds?.drift?.window_hours ?? 24)),
  };
}

/** Per annotator, agreement with the others' consensus in each time window, oldest first (what drift detection looks at). */
function annotatorWindows(drift: Record<string, Record<string, { items: number; agreed: number }>>, windowHours: number) {
  const ms = windowHours * 3_600_000;
  return Object.keys(drift)
    .sort()
    .map((annotatorId) => ({
      annotator_id: annotatorId,
      windows: Object.entries(drift[annotatorId])
        .map(([w, c]) => ({ window: Number(w), ...c }))
        .sort((x, y) => x.window - y.window)
        .map((c) => ({ window_start: new Date(c.window * ms).toISOString(), items: c.items, agreement: c.items ? c.agreed / c.items : null })),
    }));
}
