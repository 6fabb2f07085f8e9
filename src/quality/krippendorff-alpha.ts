import { groupRatings } from './group';
import type { AlphaMetric, LabelOrder, Rating } from './types';

/**
 * Krippendorff's alpha via the coincidence matrix (Krippendorff 2011, "Computing Krippendorff's
 * Alpha-Reliability", Annenberg School for Communication, Departmental Papers 43; Krippendorff
 * 2004, Content Analysis, ch. 11):
 *
 *   o_ck = Σ_u (number of c–k pairs of values in unit u) / (m_u − 1)      coincidences
 *   n_c  = Σ_k o_ck,  n = Σ_c n_c                                          pairable values
 *   α    = 1 − D_o / D_e = 1 − (n − 1) Σ_ck o_ck δ²_ck / Σ_ck n_c n_k δ²_ck
 *
 * with the difference functions
 *   nominal  δ² = [c ≠ k]
 *   ordinal  δ² = (Σ_{g=c..k} n_g − (n_c + n_k) / 2)²   (categories in rank order)
 *   interval δ² = (c − k)²
 *   ratio    δ² = ((c − k) / (c + k))²
 *
 * Missing values are simply absent ratings; units with fewer than two values are not pairable and
 * are left out. Cost: one pass over units, O(Σ_u d_u²) with d_u ≤ m_u the distinct values in unit
 * u, plus O(k²) for k categories — linear in items. Memory is O(k²): fine for label sets; for
 * interval data with very many distinct numbers, bin them first.
 */
export interface KrippendorffAlphaOptions {
  /** Level of measurement; default nominal. */
  metric?: AlphaMetric;
  /**
   * Label order. Ordinal alpha ranks categories by it (values outside it are rejected); without it
   * ordinal values must be numeric and are ranked numerically. Interval and ratio read each value
   * as a number.
   */
  labels?: LabelOrder;
}

export interface KrippendorffAlphaResult {
  /** null when undefined: fewer than two pairable values, or no variation at all (D_e = 0). */
  alpha: number | null;
  observedDisagreement: number;
  expectedDisagreement: number;
  /** n: values in pairable units. */
  pairableValues: number;
  /** Units with at least two values. */
  pairableUnits: number;
  /** Category keys, indexing `coincidences` and `marginals`. */
  categories: string[];
  coincidences: number[][];
  marginals: number[];
}

/** Krippendorff's alpha of ratings (items are units, annotators are coders). */
export function krippendorffAlpha(ratings: readonly Rating[], options: KrippendorffAlphaOptions = {}): number | null {
  return krippendorffAlphaDetailed(ratings, options).alpha;
}

/** Krippendorff's alpha with its coincidence matrix and disagreements. */
export function krippendorffAlphaDetailed(ratings: readonly Rating[], options: KrippendorffAlphaOptions = {}): KrippendorffAlphaResult {
  const metric = options.metric ?? 'nominal';
  const labels = options.labels ?? [];
  const g = groupRatings(ratings, labels, { strictLabels: metric === 'ordinal' && labels.length > 0 });
  const k = g.categories.length;

  // Coincidence matrix, one unit at a time.
  const o = new Float64Array(k * k);
  const unitCount = new Float64Array(k);
  const distinct = new Int32Array(k);
  let pairableUnits = 0;
  for (let i = 0; i < g.itemIds.length; i++) {
    const start = g.itemStart[i];
    const end = g.itemStart[i + 1];
    const m = end - start;
    if (m < 2) continue;
    pairableUnits++;
    let d = 0;
    for (let p = start; p < end; p++) {
      const c = g.category[p];
      if (unitCount[c]++ === 0) distinct[d++] = c;
    }
    for (let x = 0; x < d; x++) {
      const c = distinct[x];
      const nc = unitCount[c];
      o[c * k + c] += (nc * (nc - 1)) / (m - 1);
      for (let y = 0; y < d; y++) {
        if (y !== x) o[c * k + distinct[y]] += (nc * unitCount[distinct[y]]) / (m - 1);
      }
    }
    for (let x = 0; x < d; x++) unitCount[distinct[x]] = 0;
  }

  const marginals = new Float64Array(k);
  let n = 0;
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < k; j++) marginals[c] += o[c * k + j];
    n += marginals[c];
  }

  const delta = differenceFunction(metric, g.categories, g.knownCategories, marginals, labels.length > 0);
  let observed = 0;
  let expected = 0;
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < k; j++) {
      if (c === j) continue; // δ²_cc = 0 for every metric
      const d2 = delta(c, j);
      observed += o[c * k + j] * d2;
      expected += marginals[c] * marginals[j] * d2;
    }
  }
  const observedDisagreement = n > 0 ? observed / n : 0;
  const expectedDisagreement = n > 1 ? expected / (n * (n - 1)) : 0;
  const alpha = n < 2 || expectedDisagreement === 0 ? null : 1 - observedDisagreement / expectedDisagreement;

  const coincidences: number[][] = [];
  for (let c = 0; c < k; c++) coincidences.push(Array.from(o.subarray(c * k, (c + 1) * k)));
  return {
    alpha,
    observedDisagreement,
    expectedDisagreement,
    pairableValues: n,
    pairableUnits,
    categories: g.categories,
    coincidences,
    marginals: Array.from(marginals),
  };
}

/** The squared difference δ²(c, k) between category indices for a metric. */
function differenceFunction(
  metric: AlphaMetric,
  categories: readonly string[],
  knownCategories: number,
  marginals: Float64Array,
  hasLabels: boolean,
): (c: number, k: number) => number {
  switch (metric) {
    case 'nominal':
      return () => 1;
    case 'interval': {
      const v = numericValues(categories, metric);
      return (c, k) => (v[c] - v[k]) ** 2;
    }
    case 'ratio': {
      const v = numericValues(categories, metric);
      // Both values 0: no difference (avoid 0/0).
      return (c, k) => (v[c] + v[k] === 0 ? 0 : ((v[c] - v[k]) / (v[c] + v[k])) ** 2);
    }
    case 'ordinal': {
      // Rank of each category: its label position, or its numeric order without labels.
      let order: number[];
      if (hasLabels) {
        order = categories.slice(0, knownCategories).map((_, i) => i);
      } else {
        const v = numericValues(categories, metric);
        order = categories.map((_, i) => i).sort((x, y) => v[x] - v[y]);
      }
      const rank = new Int32Array(categories.length);
      order.forEach((c, r) => (rank[c] = r));
      // cum[r] = Σ n_g over ranks 0..r-1, so Σ_{g=c..k} n_g is a difference of two entries.
      const cum = new Float64Array(order.length + 1);
      order.forEach((c, r) => (cum[r + 1] = cum[r] + marginals[c]));
      return (c, k) => {
        const lo = Math.min(rank[c], rank[k]);
        const hi = Math.max(rank[c], rank[k]);
        return (cum[hi + 1] - cum[lo] - (marginals[c] + marginals[k]) / 2) ** 2;
      };
    }
    default:
      throw new Error(`unknown alpha metric: ${String(metric)}`);
  }
}

function numericValues(categories: readonly string[], metric: AlphaMetric): Float64Array {
  return Float64Array.from(categories, (key) => {
    const v = key.trim() === '' ? NaN : Number(key);
    if (!Number.isFinite(v)) throw new Error(`${metric} alpha needs numeric values; got ${JSON.stringify(key)}`);
    return v;
  });
}

/**
 * α at a level of measurement from a summed coincidence matrix (`o[c][k]`, category keys), as the
 * paged quality report keeps it: coincidences do not depend on the metric, so one matrix gives α at
 * every level. Nominal uses every value. The other levels place values by the label order
 * (ordinal: rank = position; interval and ratio: the label read as a number; without a label order,
 * the values read as numbers): a value outside the label order has no place and is left out,
 * with its coincidences (the API refuses such values, so this only matters for legacy rows).
 */
export function alphaFromCoincidences(
  o: Readonly<Record<string, Readonly<Record<string, number>>>>,
  metric: AlphaMetric,
  labels: LabelOrder = [],
): { alpha: number | null; pairableValues: number } {
  const seen = [...new Set([...Object.keys(o), ...Object.values(o).flatMap((row) => Object.keys(row))])];
  const placed = metric !== 'nominal' && labels.length > 0;
  const categories = placed ? [...labels] : seen;
  const index = new Map(categories.map((c, i) => [c, i] as const));
  const k = categories.length;
  const matrix = new Float64Array(k * k);
  for (const [c, row] of Object.entries(o)) {
    const i = index.get(c);
    if (i === undefined) continue;
    for (const [kk, v] of Object.entries(row)) {
      const j = index.get(kk);
      if (j !== undefined) matrix[i * k + j] += v;
    }
  }
  const marginals = new Float64Array(k);
  let n = 0;
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < k; j++) marginals[c] += matrix[c * k + j];
    n += marginals[c];
  }
  if (n < 2) return { alpha: null, pairableValues: n };
  const delta = differenceFunction(metric, categories, k, marginals, placed);
  let observed = 0;
  let expected = 0;
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < k; j++) {
      if (c === j) continue;
      const d2 = delta(c, j);
      observed += matrix[c * k + j] * d2;
      expected += marginals[c] * marginals[j] * d2;
    }
  }
  const De = expected / (n * (n - 1));
  return { alpha: De === 0 ? null : 1 - observed / n / De, pairableValues: n };
}
