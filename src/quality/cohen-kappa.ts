import { categoryKey, groupRatings } from './group';
import type { KappaWeights, LabelOrder, Rating, RatingValue } from './types';

/**
 * Cohen's kappa for two annotators, unweighted (Cohen 1960) or weighted (Cohen 1968).
 *
 *   κ_w = 1 − Σ_ij w_ij o_ij / Σ_ij w_ij e_ij,   e_ij = r_i c_j / N
 *
 * with o the N-item contingency table (rows annotator A, columns annotator B), r and c its
 * marginals and w_ij disagreement weights over category positions in the label order:
 * none: [i ≠ j], linear: |i − j|, quadratic: (i − j)². With w = [i ≠ j] this is exactly
 * κ = (p_o − p_e) / (1 − p_e). Same convention as scikit-learn's `cohen_kappa_score`.
 *
 * Returns null when kappa is undefined (no items, or Σ w e = 0: both annotators used one and the
 * same category throughout, so chance agreement is already perfect).
 */
export function cohenKappaFromMatrix(matrix: readonly (readonly number[])[], weights: KappaWeights = 'none'): number | null {
  const k = matrix.length;
  const flat = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    if (matrix[i].length !== k) throw new Error('contingency table must be square');
    for (let j = 0; j < k; j++) flat[i * k + j] = matrix[i][j];
  }
  return kappaOfTable(flat, k, weights);
}

/** Cohen's kappa of a flat k×k contingency table (row-major). */
export function kappaOfTable(table: Float64Array, k: number, weights: KappaWeights): number | null {
  const rows = new Float64Array(k);
  const cols = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const v = table[i * k + j];
      rows[i] += v;
      cols[j] += v;
      total += v;
    }
  }
  if (total === 0) return null;
  let observed = 0;
  let expected = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const w = weight(i, j, weights);
      if (w === 0) continue;
      observed += w * table[i * k + j];
      expected += (w * rows[i] * cols[j]) / total;
    }
  }
  if (expected === 0) return null;
  return 1 - observed / expected;
}

function weight(i: number, j: number, weights: KappaWeights): number {
  const d = Math.abs(i - j);
  switch (weights) {
    case 'none':
      return d === 0 ? 0 : 1;
    case 'linear':
      return d;
    case 'quadratic':
      return d * d;
    default:
      throw new Error(`unknown kappa weights: ${String(weights)}`);
  }
}

export interface CohenKappaOptions {
  /** Category order; required for weighted kappa unless every value is numeric (then numeric order). */
  labels?: LabelOrder;
  weights?: KappaWeights;
}

/**
 * Cohen's kappa of two parallel label sequences: `a[t]` and `b[t]` rate the same item.
 * Unweighted, a value outside `labels` becomes an extra category (scikit-learn would drop the pair);
 * weighted, it is an error because it has no position.
 */
export function cohenKappa(a: readonly RatingValue[], b: readonly RatingValue[], options: CohenKappaOptions = {}): number | null {
  if (a.length !== b.length) throw new Error('cohenKappa needs two sequences of equal length');
  const weights = options.weights ?? 'none';
  const keysA = a.map(categoryKey);
  const keysB = b.map(categoryKey);
  const categories = kappaCategories(options.labels ?? [], [...keysA, ...keysB], weights !== 'none');
  const index = new Map(categories.map((c, i) => [c, i] as const));
  const k = categories.length;
  const table = new Float64Array(k * k);
  for (let t = 0; t < keysA.length; t++) table[index.get(keysA[t])! * k + index.get(keysB[t])!]++;
  return kappaOfTable(table, k, weights);
}

/**
 * The categories of a kappa table: the label order, then unseen values. Weighted kappa needs a
 * position for every value, so there an unlisted value is an error, and without a label order the
 * values must all be numeric (ordered numerically).
 */
function kappaCategories(labels: LabelOrder, keys: readonly string[], ordered: boolean): string[] {
  const categories = [...labels];
  const known = new Set(categories);
  const extra: string[] = [];
  for (const key of keys) {
    if (known.has(key)) continue;
    known.add(key);
    extra.push(key);
  }
  if (ordered && extra.length > 0) {
    if (labels.length > 0) throw new Error(`weighted kappa: value ${JSON.stringify(extra[0])} is not in the label order`);
    if (!extra.every((x) => Number.isFinite(Number(x)) && x.trim() !== '')) {
      throw new Error('weighted kappa needs a label order for non-numeric values');
    }
    extra.sort((x, y) => Number(x) - Number(y));
  }
  return [...categories, ...extra];
}

/** One row of the quality report's `agreement.cohen_kappa`. */
export interface CohenKappaPair {
  annotator_a: string;
  annotator_b: string;
  /** null when undefined (see `cohenKappaFromMatrix`). */
  kappa: number | null;
  /** Items both annotators rated. */
  n: number;
}

/**
 * Cohen's kappa for every pair of annotators that share at least one item, over the items both
 * rated. Pairs are ordered by annotator id (annotator_a < annotator_b, code-unit order).
 *
 * One pass over items: each item with m ratings adds to m(m−1)/2 pair tables, so the cost is
 * O(Σ m_i² + pairs × k²), linear in items for a bounded number of ratings per item.
 * Unweighted by default; linear and quadratic weights use the label order (values must be in it).
 */
export function pairwiseCohenKappa(
  ratings: readonly Rating[],
  labels: LabelOrder = [],
  options: { weights?: KappaWeights } = {},
): CohenKappaPair[] {
  const weights = options.weights ?? 'none';
  if (weights !== 'none' && labels.length === 0) throw new Error('weighted kappa needs a label order');
  const g = groupRatings(ratings, labels, { strictLabels: weights !== 'none' });
  const k = g.categories.length;
  const annotators = g.annotatorIds.length;

  // Rank annotators by id so that (a, b) is always the same orientation of a pair.
  const sorted = g.annotatorIds.map((id, i) => ({ id, i })).sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  const rank = new Int32Array(annotators);
  sorted.forEach((s, r) => (rank[s.i] = r));

  const tables = new Map<number, Float64Array>();
  for (let i = 0; i < g.itemIds.length; i++) {
    const start = g.itemStart[i];
    const end = g.itemStart[i + 1];
    for (let p = start; p < end; p++) {
      for (let q = p + 1; q < end; q++) {
        let ra = rank[g.annotator[p]];
        let rb = rank[g.annotator[q]];
        let ca = g.category[p];
        let cb = g.category[q];
        if (ra > rb) {
          [ra, rb] = [rb, ra];
          [ca, cb] = [cb, ca];
        }
        const key = ra * annotators + rb;
        let table = tables.get(key);
        if (!table) {
          table = new Float64Array(k * k);
          tables.set(key, table);
        }
        table[ca * k + cb]++;
      }
    }
  }

  const pairs: CohenKappaPair[] = [];
  for (const key of [...tables.keys()].sort((x, y) => x - y)) {
    const table = tables.get(key)!;
    let n = 0;
    for (let t = 0; t < table.length; t++) n += table[t];
    pairs.push({
      annotator_a: sorted[Math.floor(key / annotators)].id,
      annotator_b: sorted[key % annotators].id,
      kappa: kappaOfTable(table, k, weights),
      n,
    });
  }
  return pairs;
}
