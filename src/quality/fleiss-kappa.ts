import { groupRatings } from './group';
import type { LabelOrder, Rating } from './types';

/**
 * Fleiss' kappa (Fleiss 1971, "Measuring nominal scale agreement among many raters",
 * Psychological Bulletin 76(5):378–382):
 *
 *   P_i = Σ_j n_ij (n_ij − 1) / (n_i (n_i − 1))     agreement within item i
 *   P̄  = mean of P_i,  p_j = Σ_i n_ij / Σ_i n_i,  P̄_e = Σ_j p_j²
 *   κ   = (P̄ − P̄_e) / (1 − P̄_e)
 *
 * Fleiss assumes the same number n of raters on every item. Annotation projects rarely have that
 * (skipped or pending tasks), so a varying n_i is accepted with the common generalisation above:
 * P_i uses the item's own n_i, every item with n_i ≥ 2 weighs the same in P̄, and p_j pools all
 * ratings of those items. With a fixed n it is exactly Fleiss' statistic. Items with fewer than
 * two ratings are left out of both P̄ and p_j (they cannot show agreement).
 * For varying n Krippendorff's alpha is the better-founded measure; `fixedRaters` says which case applied.
 */
export interface FleissKappaResult {
  /** null when undefined: no item with two ratings, or every rating in one category (P̄_e = 1). */
  kappa: number | null;
  /** P̄, the mean observed agreement. */
  observed: number;
  /** P̄_e, the chance agreement. */
  expected: number;
  /** Items with at least two ratings (those used). */
  items: number;
  /** True when every used item had the same number of ratings (Fleiss' original setting). */
  fixedRaters: boolean;
  /** p_j: share of ratings in each category. */
  proportions: number[];
  /**
   * κ_j for each category (Fleiss 1971, eq. for the kappa of a single category:
   * κ_j = 1 − Σ_i n_ij (n − n_ij) / (N n (n − 1) p_j q_j)); only defined for a fixed n, else null.
   * An entry is null where p_j q_j = 0.
   */
  perCategory: (number | null)[] | null;
}

/** Fleiss' kappa of a subjects × categories table of counts (`counts[i][j]` = raters putting item i in category j). */
export function fleissKappaFromCounts(counts: readonly (readonly number[])[]): FleissKappaResult {
  const k = counts.length === 0 ? 0 : counts[0].length;
  const acc = new FleissAccumulator(k);
  for (const row of counts) {
    if (row.length !== k) throw new Error('every row of the counts table needs one entry per category');
    let n = 0;
    let agreeing = 0;
    for (let j = 0; j < k; j++) {
      n += row[j];
      agreeing += row[j] * (row[j] - 1);
    }
    if (acc.addItem(n, agreeing)) for (let j = 0; j < k; j++) acc.totals[j] += row[j];
  }
  return acc.result(counts);
}

/** Fleiss' kappa of raw ratings (varying raters per item allowed, see above). O(ratings + categories). */
export function fleissKappa(ratings: readonly Rating[], labels: LabelOrder = []): number | null {
  const g = groupRatings(ratings, labels);
  const acc = new FleissAccumulator(g.categories.length);
  const seen = new Float64Array(g.categories.length);
  for (let i = 0; i < g.itemIds.length; i++) {
    const start = g.itemStart[i];
    const end = g.itemStart[i + 1];
    // The k-th equal value forms k−1 new unordered agreeing pairs, so Σ n_ij(n_ij − 1) costs O(m).
    let pairs = 0;
    for (let p = start; p < end; p++) pairs += seen[g.category[p]]++;
    for (let p = start; p < end; p++) seen[g.category[p]] = 0;
    if (acc.addItem(end - start, 2 * pairs)) for (let p = start; p < end; p++) acc.totals[g.category[p]]++;
  }
  return acc.result().kappa;
}

/** Streams items through the statistic; the caller adds an accepted item's counts to `totals`. */
class FleissAccumulator {
  readonly totals: Float64Array;
  private sumP = 0;
  private items = 0;
  private raters = -1;
  private fixed = true;

  constructor(k: number) {
    this.totals = new Float64Array(k);
  }

  /** Adds an item with n ratings and Σ_j n_ij (n_ij − 1) agreeing ordered pairs; false if n < 2 (skipped). */
  addItem(n: number, agreeing: number): boolean {
    if (n < 2) return false;
    if (this.raters === -1) this.raters = n;
    else if (this.raters !== n) this.fixed = false;
    this.sumP += agreeing / (n * (n - 1));
    this.items++;
    return true;
  }

  result(table?: readonly (readonly number[])[]): FleissKappaResult {
    const ratings = this.totals.reduce((s, t) => s + t, 0);
    const proportions = Array.from(this.totals, (t) => (ratings === 0 ? 0 : t / ratings));
    if (this.items === 0) {
      return { kappa: null, observed: 0, expected: 0, items: 0, fixedRaters: true, proportions, perCategory: null };
    }
    const observed = this.sumP / this.items;
    const expected = proportions.reduce((s, p) => s + p * p, 0);
    // Guard against rounding: P̄_e = 1 means a single category was used.
    const kappa = expected >= 1 - 1e-12 ? null : (observed - expected) / (1 - expected);
    let perCategory: (number | null)[] | null = null;
    if (table && this.fixed) {
      const n = this.raters;
      perCategory = proportions.map((p, j) => {
        const pq = p * (1 - p);
        if (pq === 0) return null;
        let disagreement = 0;
        for (const row of table) {
          if (row.reduce((s, v) => s + v, 0) >= 2) disagreement += row[j] * (n - row[j]);
        }
        return 1 - disagreement / (this.items * n * (n - 1) * pq);
      });
    }
    return { kappa, observed, expected, items: this.items, fixedRaters: this.fixed, proportions, perCategory };
  }
}
