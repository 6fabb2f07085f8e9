import { groupRatings, type GroupedRatings } from './group';
import type { LabelOrder, Rating } from './types';

/**
 * Majority vote: each item gets the label most of its annotators gave.
 *
 * Tie rule: a tie is no majority. When two or more labels share the most votes, `label` is null
 * and `leaders` lists them (in label order: the project's labels first, then values outside it by
 * code-unit string order, so the result never depends on the order ratings arrive in). Nothing
 * here picks one of them: who settles a tie (an expert, a model with evidence) is the caller's
 * decision, never silently the first label. One vote per (item, annotator); a later rating
 * replaces an earlier one.
 */
export interface MajorityVote {
  itemId: string;
  /** The winning label (its string form); null on a tie. */
  label: string | null;
  /** The labels with the most votes, in label order: one, or several on a tie. */
  leaders: string[];
  /** Votes for each leader. */
  votes: number;
  /** Votes for the best label that is not a leader (0 when there is none). */
  runnerUpVotes: number;
  /** Votes on the item. */
  total: number;
  /** True when two or more labels share the most votes (then `label` is null). */
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
    let bestVotes = 0;
    for (let p = start; p < end; p++) bestVotes = Math.max(bestVotes, counts[g.category[p]]);
    const leaders: number[] = [];
    let runnerUpVotes = 0;
    for (let p = start; p < end; p++) {
      const c = g.category[p];
      const v = counts[c];
      if (v === bestVotes) {
        if (!leaders.includes(c)) leaders.push(c);
      } else if (v > runnerUpVotes) runnerUpVotes = v;
    }
    for (let p = start; p < end; p++) counts[g.category[p]] = 0;
    if (leaders.length === 0) continue;
    leaders.sort((x, y) => rank[x] - rank[y]);
    const tied = leaders.length > 1;
    result.set(g.itemIds[i], {
      itemId: g.itemIds[i],
      label: tied ? null : g.categories[leaders[0]],
      leaders: leaders.map((c) => g.categories[c]),
      votes: bestVotes,
      runnerUpVotes: tied ? bestVotes : runnerUpVotes,
      total: end - start,
      tied,
    });
  }
  return result;
}

/**
 * Rank of each category in the label order: label-order position for known labels, then unknown
 * values in code-unit order after them (orders `leaders`; Dawid–Skene's and consensus' tie rules).
 */
export function tieRanks(g: GroupedRatings): Int32Array {
  const rank = new Int32Array(g.categories.length);
  for (let c = 0; c < g.knownCategories; c++) rank[c] = c;
  const unknown = g.categories.slice(g.knownCategories).map((key, i) => ({ key, c: g.knownCategories + i }));
  unknown.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  unknown.forEach((u, i) => (rank[u.c] = g.knownCategories + i));
  return rank;
}
