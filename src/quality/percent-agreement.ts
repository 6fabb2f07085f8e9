import { groupRatings } from './group';
import type { Rating } from './types';

/**
 * Observed pairwise percent agreement.
 *
 * For each item i with m_i ≥ 2 ratings, P_i = Σ_c n_ic (n_ic − 1) / (m_i (m_i − 1)) is the share of
 * ordered pairs of its ratings (from different annotators) that agree; the result is the mean of
 * P_i over those items, each item weighing the same. This is Fleiss' (1971) P̄, without chance
 * correction; for two annotators it is the plain share of items on which they agree.
 *
 * Items with fewer than two ratings carry no pair and are skipped. Returns null when no item has
 * two ratings. Categories compare by `String(value)`; one value per (item, annotator), last wins.
 */
export function percentAgreement(ratings: readonly Rating[]): number | null {
  const g = groupRatings(ratings);
  const counts = new Float64Array(g.categories.length);
  let sum = 0;
  let items = 0;
  for (let i = 0; i < g.itemIds.length; i++) {
    const start = g.itemStart[i];
    const end = g.itemStart[i + 1];
    const m = end - start;
    if (m < 2) continue;
    let agreeing = 0;
    // Adding the k-th equal value forms k-1 new unordered agreeing pairs: Σ C(n_c, 2) in O(m).
    for (let p = start; p < end; p++) agreeing += counts[g.category[p]]++;
    for (let p = start; p < end; p++) counts[g.category[p]] = 0;
    sum += agreeing / ((m * (m - 1)) / 2);
    items++;
  }
  return items === 0 ? null : sum / items;
}
