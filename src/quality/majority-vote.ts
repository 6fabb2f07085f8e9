import { groupRatings, type GroupedRatings } from './group';
import type { LabelOrder, Rating } from './types';

/**
 * Majority vote: each item gets the label most of its annotators gave.
 *
 * Tie rule (documented, deterministic): among the labels with the most votes, the one that comes
 * first in the project's label order wins. Values outside the label order rank after every label
 * in it, and among themselves by code-unit string order, so the result never depends on the order
 * ratings arrive in. One vote per (item, annotator); a later rating replaces an earlier one.
 */
export interface MajorityVote {
  itemId: string;
  /** The winning label (its string form). */
  label: string;
  /** Votes for the winning label. */
  votes: number;
  /** Votes on the item. */
  total: number;
  /** True when another label had as many votes and the tie rule decided. */
  tied: boolean;
}

/** Majority label per item, keyed by item id (items in first-seen order). O(ratings). */
export function majorityVote(ratings: readonly Rating[], labels: LabelOrder = []): Map<string, MajorityVote> {
  const g = groupRatings(ratings, labels);
  const rank = tieRanks(g);
  const counts = new Int32Array(g.categories.length);
  const result = new Map<string, MajorityVote>();
  for (let i = 0; i < g.itemIds.length; i++) {
    const start = g.itemStart[i];
    const end = g.itemStart[i + 1];
    for (let p = start; p < end; p++) counts[g.category[p]]++;
    let best = -1;
    let bestVotes = 0;
    let tied = false;
    for (let p = start; p < end; p++) {
      const c = g.category[p];
      const v = counts[c];
      if (c === best) continue;
      if (v > bestVotes) {
        best = c;
        bestVotes = v;
        tied = false;
      } else if (v === bestVotes) {
        tied = true;
        if (rank[c] < rank[best]) best = c;
      }
    }
    for (let p = start; p < end; p++) counts[g.category[p]] = 0;
    if (best >= 0) result.set(g.itemIds[i], { itemId: g.itemIds[i], label: g.categories[best], votes: bestVotes, total: end - start, tied });
  }
  return result;
}

/**
 * Tie-break rank of each category: label-order position for known labels, then unknown values in
 * code-unit order after them.
 */
export function tieRanks(g: GroupedRatings): Int32Array {
  const rank = new Int32Array(g.categories.length);
  for (let c = 0; c < g.knownCategories; c++) rank[c] = c;
  const unknown = g.categories.slice(g.knownCategories).map((key, i) => ({ key, c: g.knownCategories + i }));
  unknown.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  unknown.forEach((u, i) => (rank[u.c] = g.knownCategories + i));
  return rank;
}
