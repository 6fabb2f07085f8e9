/**
 * A project's quality thresholds and the detector settings the validation workflow uses, and the
 * rule that turns metric values into alerts. Pure.
 *
 * Where they come from: `projects.quality_thresholds` (jsonb) over `projects.routing.quality_thresholds`
 * over the defaults below, key by key. A value that is not a finite number is ignored (the default
 * stays), so a typo cannot switch alerting off.
 *
 * Rule: a metric strictly below `alert` is an alert; below `warning` (and not below `alert`) a
 * warning. A metric that is undefined (null: too little data) raises nothing, and neither does one
 * measured on fewer than `min_pairable_values` values (its evidence, see `MetricEvidence`): it is
 * reported with `insufficient_data: true`. The report passes when no metric is at the alert level;
 * warnings are reported and emitted but do not fail it.
 *
 * `krippendorff_alpha` is α at the project's level of measurement (nominal, ordinal, interval or
 * ratio, from its label schema): the caller passes that value.
 */
export type MetricName = 'krippendorff_alpha' | 'fleiss_kappa' | 'percent_agreement' | 'ai_accuracy_vs_final' | 'ai_acceptance_rate';

export const METRIC_NAMES: readonly MetricName[] = [
  'krippendorff_alpha',
  'fleiss_kappa',
  'percent_agreement',
  'ai_accuracy_vs_final',
  'ai_acceptance_rate',
];

export interface Bound {
  alert?: number;
  warning?: number;
}

export interface QualityThresholds {
  /** Lower bounds per metric; a metric without bounds never alerts. */
  krippendorff_alpha: Bound;
  fleiss_kappa?: Bound;
  percent_agreement?: Bound;
  ai_accuracy_vs_final?: Bound;
  ai_acceptance_rate?: Bound;
  /** Near-duplicate items: estimated Jaccard similarity of normalized-text 4-gram sets. */
  near_duplicate: { similarity: number };
  /** Annotator drift: time window, minimum items per window, minimum drop in agreement, minimum z. */
  drift: { window_hours: number; min_items: number; min_drop: number; min_z: number };
  /** Systematic AI-vs-human disagreement on a label: minimum items and disagreement rate. */
  ai_disagreement: { min_items: number; min_rate: number };
  /** Evidence a metric needs before it can alert (pairable values; for the AI metrics, items compared / decisions). */
  min_pairable_values: number;
}

/** Krippendorff's conventions (2004, §12.4): α ≥ .800 reliable, .667 ≤ α < .800 tentative conclusions only. */
export const DEFAULT_QUALITY_THRESHOLDS: QualityThresholds = {
  krippendorff_alpha: { alert: 0.667, warning: 0.8 },
  near_duplicate: { similarity: 0.8 },
  drift: { window_hours: 24, min_items: 20, min_drop: 0.15, min_z: 2 },
  ai_disagreement: { min_items: 10, min_rate: 0.5 },
  // A floor against alerts from a handful of values (one pairable item gave α = 0 and a failed
  // report), not a sample-size plan: 20 values are e.g. 10 items with 2 annotators each.
  min_pairable_values: 20,
};

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

function mergeNumbers<T extends object>(base: T, over: unknown): T {
  const o = obj(over);
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) if (isNum(v)) out[k] = v;
  return out as T;
}

function mergeThresholds(base: QualityThresholds, over: unknown): QualityThresholds {
  const o = obj(over);
  const out: QualityThresholds = { ...base };
  for (const m of METRIC_NAMES) {
    if (o[m] === undefined) continue;
    const b = mergeNumbers<Bound>(base[m] ?? {}, o[m]);
    for (const k of Object.keys(b) as (keyof Bound)[]) if (k !== 'alert' && k !== 'warning') delete b[k];
    out[m] = b;
  }
  out.near_duplicate = mergeNumbers(base.near_duplicate, o.near_duplicate);
  out.drift = mergeNumbers(base.drift, o.drift);
  out.ai_disagreement = mergeNumbers(base.ai_disagreement, o.ai_disagreement);
  if (isNum(o.min_pairable_values) && o.min_pairable_values >= 0) out.min_pairable_values = Math.ceil(o.min_pairable_values);
  return out;
}

/** Effective thresholds: defaults (the deployment's, e.g. QUALITY_MIN_PAIRABLE_VALUES), then routing.quality_thresholds, then the quality_thresholds column. */
export function resolveQualityThresholds(
  project: { routing?: unknown; quality_thresholds?: unknown },
  defaults: QualityThresholds = DEFAULT_QUALITY_THRESHOLDS,
): QualityThresholds {
  const fromRouting = obj(project.routing).quality_thresholds;
  return mergeThresholds(mergeThresholds(defaults, fromRouting), project.quality_thresholds);
}

export interface QualityAlert {
  metric: MetricName;
  value: number;
  severity: 'alert' | 'warning';
  /** The bound the value fell below. */
  threshold: number;
}

/** How many values each metric was measured on (pairable values; items compared; decisions). */
export type MetricEvidence = Partial<Record<MetricName, number>>;

/** Whether a metric has too little evidence to alert (no count given: enough). */
export function insufficientData(metric: MetricName, evidence: MetricEvidence, thresholds: Pick<QualityThresholds, 'min_pairable_values'>): boolean {
  const n = evidence[metric];
  return n !== undefined && n < thresholds.min_pairable_values;
}

/** Alerts for the metric values, in METRIC_NAMES order; a metric with insufficient evidence raises none. */
export function evaluateThresholds(
  values: Partial<Record<MetricName, number | null>>,
  thresholds: QualityThresholds,
  evidence: MetricEvidence = {},
): QualityAlert[] {
  const alerts: QualityAlert[] = [];
  for (const metric of METRIC_NAMES) {
    const value = values[metric];
    const bound = thresholds[metric];
    if (value === null || value === undefined || !bound || insufficientData(metric, evidence, thresholds)) continue;
    if (bound.alert !== undefined && value < bound.alert) alerts.push({ metric, value, severity: 'alert', threshold: bound.alert });
    else if (bound.warning !== undefined && value < bound.warning) alerts.push({ metric, value, severity: 'warning', threshold: bound.warning });
  }
  return alerts;
}
