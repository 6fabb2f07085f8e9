import { kappaOfTable } from './cohen-kappa';
import { alphaFromCoincidences } from './krippendorff-alpha';
import { labelDistribution } from './label-distribution';
import { isOrderedLevel, levelsUpTo, type MeasurementLevel } from './measurement-level';
import { SEP, type QualityPartial } from './report-partial';
import type { LabelOrder } from './types';

/**
 * The statistics of summed quality partials (`report-partial.ts`, accumulated by
 * `report-accumulate.ts`): α at the schema's level of measurement and below, Fleiss, Cohen
 * (weighted for an ordered schema), percent agreement, per-annotator and per-engine figures, the
 * label distribution in label order, and the evidence each thresholded metric rests on.
 */
/** α at each level up to the schema's, the schema's level and its value, and the evidence behind it. */
export interface AlphaReport {
  nominal: number | null;
  ordinal?: number | null;
  interval?: number | null;
  ratio?: number | null;
  /** The schema's level of measurement; `value` is α at it (what the thresholds judge). */
  level: MeasurementLevel;
  value: number | null;
  /** n: values in units with at least two values. */
  pairable_values: number;
  /** Fewer pairable values than the thresholds' `min_pairable_values`: reported, never alerted on. */
  insufficient_data: boolean;
}

export interface CohenKappaRow {
  annotator_a: string;
  annotator_b: string;
  kappa: number | null;
  /** Weighted by |i − j| and (i − j)² over label positions; only for an ordered or numeric schema. */
  kappa_linear?: number | null;
  kappa_quadratic?: number | null;
  /** Items both rated. */
  n: number;
  /** 2n < min_pairable_values. */
  insufficient_data: boolean;
}

/** Per thresholded metric: the values it was measured on and whether that is too few to alert. */
export type MetricEvidenceReport = Record<
  'krippendorff_alpha' | 'fleiss_kappa' | 'percent_agreement' | 'ai_accuracy_vs_final' | 'ai_acceptance_rate',
  { values: number; insufficient_data: boolean }
>;

export interface FinalizeOptions {
  /** The schema's level of measurement (default nominal). */
  level?: MeasurementLevel;
  /** Evidence a metric needs to count (default 0: everything counts). */
  minPairableValues?: number;
}

/** The statistics of summed partials. */
export interface QualityMetrics {
  agreement: {
    krippendorff_alpha: AlphaReport;
    fleiss_kappa: number | null;
    cohen_kappa: CohenKappaRow[];
    percent_agreement: number | null;
  };
  evidence: { min_pairable_values: number; metrics: MetricEvidenceReport };
  annotators: {
    annotator_id: string;
    items: number;
    gold_accuracy: number | null;
    agreement_with_consensus: number | null;
    gold_items: number;
    consensus_items: number;
    last_annotated_at: string | null;
  }[];
  ai: {
    acceptance_rate: number | null;
    accuracy_vs_final: number | null;
    engines: {
      engine_id: string;
      annotations: number;
      failed: number;
      accepted: number;
      rejected: number;
      pending: number;
      acceptance_rate: number | null;
      compared: number;
      accuracy_vs_final: number | null;
    }[];
  };
  /** `order`: the labels in the schema's order, then others (jsonb does not keep key order; readers rebuild it from this). */
  label_distribution: { total: number; order: string[]; counts: Record<string, number>; proportions: Record<string, number> };
  coverage: {
    items: number;
    items_with_human: number;
    human_ratings: number;
    pairable_items: number;
    items_with_final_label: number;
    /** Items whose human majority is a tie and that have no gold label: no final label until someone settles them. */
    unresolved_items: number;
    /** Items with a final label per source: expert, gold, auto, consensus, ai. */
    final_label_sources: Record<string, number>;
    disagreeing_items: number;
  };
}

const ratio = (a: number, b: number) => (b === 0 ? null : a / b);

/** Nominal alpha from a coincidence matrix (Krippendorff 2011): 1 − (n − 1) Σ_{c≠k} o_ck / Σ_{c≠k} n_c n_k. */
export function nominalAlphaFromCoincidences(o: Record<string, Record<string, number>>): number | null {
  const categories = [...new Set([...Object.keys(o), ...Object.values(o).flatMap((row) => Object.keys(row))])];
  const marg = new Map<string, number>();
  let n = 0;
  let disagree = 0;
  for (const c of categories) {
    let s = 0;
    for (const [k, v] of Object.entries(o[c] ?? {})) {
      s += v;
      if (k !== c) disagree += v;
    }
    marg.set(c, s);
    n += s;
  }
  if (n < 2) return null;
  let sumSq = 0;
  for (const s of marg.values()) sumSq += s * s;
  const expected = n * n - sumSq; // Σ_{c≠k} n_c n_k
  const De = expected / (n * (n - 1));
  if (De === 0) return null;
  return 1 - disagree / n / De;
}

export function finalizeMetrics(p: QualityPartial, labels: LabelOrder, options: FinalizeOptions = {}): QualityMetrics {
  const level = options.level ?? 'nominal';
  const minValues = options.minPairableValues ?? 0;
  const ordered = isOrderedLevel(level) && labels.length > 0;
  // Fleiss.
  let fleiss: number | null = null;
  let percent: number | null = null;
  if (p.fleiss.items > 0) {
    const observed = p.fleiss.sumP / p.fleiss.items;
    percent = observed;
    const total = Object.values(p.fleiss.totals).reduce((s, v) => s + v, 0);
    const expected = Object.values(p.fleiss.totals).reduce((s, v) => s + (v / total) ** 2, 0);
    fleiss = expected >= 1 - 1e-12 ? null : (observed - expected) / (1 - expected);
  }

  // Cohen per pair: unweighted; weighted too for an ordered schema (categories in label order,
  // so a weight is a distance in ranks; a value outside the order leaves the weighted ones null).
  const cohen = Object.keys(p.pairs)
    .sort()
    .map((key): CohenKappaRow => {
      const [a, b] = key.split(SEP);
      const cells = Object.entries(p.pairs[key]).map(([cell, n]) => [...cell.split(SEP), n] as [string, string, number]);
      const seen = new Set(cells.flatMap(([x, y]) => [x, y]));
      const known = new Set(labels);
      const unplaced = [...seen].filter((c) => !known.has(c));
      const cats = ordered ? [...labels, ...unplaced] : [...seen];
      const index = new Map(cats.map((c, i) => [c, i]));
      const k = cats.length;
      const table = new Float64Array(k * k);
      let n = 0;
      for (const [x, y, v] of cells) {
        table[index.get(x)! * k + index.get(y)!] += v;
        n += v;
      }
      const row: CohenKappaRow = { annotator_a: a, annotator_b: b, kappa: kappaOfTable(table, k, 'none'), n, insufficient_data: 2 * n < minValues };
      if (ordered) {
        row.kappa_linear = unplaced.length ? null : kappaOfTable(table, k, 'linear');
        row.kappa_quadratic = unplaced.length ? null : kappaOfTable(table, k, 'quadratic');
      }
      return row;
    });

  const annotators = Object.keys(p.annotators)
    .sort()
    .map((id) => {
      const a = p.annotators[id];
      return {
        annotator_id: id,
        items: a.rated,
        gold_accuracy: ratio(a.goldCorrect, a.goldItems),
        agreement_with_consensus: ratio(a.consensusAgreed, a.consensusItems),
        gold_items: a.goldItems,
        consensus_items: a.consensusItems,
        last_annotated_at: a.lastAt > 0 ? new Date(a.lastAt).toISOString() : null,
      };
    });

  let accepted = 0;
  let decided = 0;
  let compared = 0;
  let correct = 0;
  const engines = Object.keys(p.engines)
    .sort()
    .map((id) => {
      const e = p.engines[id];
      let c = 0;
      let ok = 0;
      for (const [cell, n] of Object.entries(e.confusion)) {
        const [ai, final] = cell.split(SEP);
        c += n;
        if (ai === final) ok += n;
      }
      accepted += e.accepted;
      decided += e.accepted + e.rejected;
      compared += c;
      correct += ok;
      return {
        engine_id: id,
        annotations: e.annotations,
        failed: e.failed,
        accepted: e.accepted,
        rejected: e.rejected,
        pending: e.pending,
        acceptance_rate: ratio(e.accepted, e.accepted + e.rejected),
        compared: c,
        accuracy_vs_final: ratio(ok, c),
      };
    });

  // α at nominal and every level up to the schema's (one coincidence matrix serves them all).
  const alpha: AlphaReport = { nominal: null, level, value: null, pairable_values: 0, insufficient_data: false };
  for (const l of levelsUpTo(level)) {
    const r = alphaFromCoincidences(p.coincidences, l, labels);
    alpha[l] = r.alpha;
    if (l === level) {
      alpha.value = r.alpha;
      alpha.pairable_values = r.pairableValues;
    }
  }
  alpha.insufficient_data = alpha.pairable_values < minValues;
  const fleissValues = Object.values(p.fleiss.totals).reduce((s, v) => s + v, 0);
  const evidenceOf = (values: number) => ({ values, insufficient_data: values < minValues });

  const dist = labelDistribution(expand(p.finalLabels), labels);
  return {
    agreement: {
      krippendorff_alpha: alpha,
      fleiss_kappa: fleiss,
      cohen_kappa: cohen,
      percent_agreement: percent,
    },
    evidence: {
      min_pairable_values: minValues,
      metrics: {
        krippendorff_alpha: evidenceOf(alpha.pairable_values),
        fleiss_kappa: evidenceOf(fleissValues),
        percent_agreement: evidenceOf(fleissValues),
        ai_accuracy_vs_final: evidenceOf(compared),
        ai_acceptance_rate: evidenceOf(decided),
      },
    },
    annotators,
    ai: { acceptance_rate: ratio(accepted, decided), accuracy_vs_final: ratio(correct, compared), engines },
    label_distribution: { total: dist.total, order: dist.entries.map(([label]) => label), counts: dist.counts, proportions: dist.proportions },
    coverage: {
      items: p.items,
      items_with_human: p.itemsWithHuman,
      human_ratings: p.humanRatings,
      pairable_items: p.fleiss.items,
      items_with_final_label: p.itemsWithFinal,
      unresolved_items: p.itemsUnresolved ?? 0,
      final_label_sources: { ...(p.finalSources ?? {}) },
      disagreeing_items: p.disagreeingItems,
    },
  };
}

function* expand(counts: Record<string, number>): Generator<string> {
  for (const [label, n] of Object.entries(counts)) for (let i = 0; i < n; i++) yield label;
}
