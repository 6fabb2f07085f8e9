import { groupRatings } from './group';
import { tieRanks } from './majority-vote';
import type { LabelOrder, Rating } from './types';

/**
 * Each annotator's agreement with the consensus (majority) label of the items they rated.
 *
 * Leave-one-out (the default, and the better choice): an annotator's rating is compared with the
 * majority of the *other* annotators on the item. Counting their own vote would inflate the score
 * (with 3 raters an annotator's own vote is a third of the consensus) and reward a lone annotator
 * for agreeing with themselves. Items where the others are tied have no consensus without this
 * annotator and are left out of their denominator (no arbitrary tie-break is scored).
 *
 * With `leaveOneOut: false` the rating is compared with the item's majority-vote label including
 * the annotator's own vote, ties broken by the label order (`tieRanks`; `majorityVote` itself
 * leaves a tie unresolved).
 *
 * Either way only items with at least two ratings count. O(Σ_i m_i · d_i), d_i distinct labels on item i.
 */
export interface ConsensusAgreement {
  annotatorId: string;
  /** Items the annotator rated. */
  rated: number;
  /** Items where a consensus to compare with existed. */
  items: number;
  /** Of those, items where the annotator gave the consensus label. */
  agreed: number;
  /** agreed / items; null when items = 0. */
  agreement: number | null;
}

export interface ConsensusAgreementOptions {
  labels?: LabelOrder;
  leaveOneOut?: boolean;
}

/** Agreement with consensus per annotator, ordered by annotator id. */
export function consensusAgreement(ratings: readonly Rating[], options: ConsensusAgreementOptions = {}): ConsensusAgreement[] {
  const leaveOneOut = options.leaveOneOut ?? true;
  const g = groupRatings(ratings, options.labels ?? []);
  const rank = tieRanks(g);
  const annotators = g.annotatorIds.length;
  const rated = new Int32Array(annotators);
  const items = new Int32Array(annotators);
  const agreed = new Int32Array(annotators);
  const counts = new Int32Array(g.categories.length);
  const distinct = new Int32Array(g.categories.length);

  for (let i = 0; i < g.itemIds.length; i++) {
    const start = g.itemStart[i];
    const end = g.itemStart[i + 1];
    for (let p = start; p < end; p++) rated[g.annotator[p]]++;
    if (end - start < 2) continue;
    let d = 0;
    for (let p = start; p < end; p++) if (counts[g.category[p]]++ === 0) distinct[d++] = g.category[p];

    if (!leaveOneOut) {
      let best = distinct[0];
      for (let x = 1; x < d; x++) {
        const c = distinct[x];
        if (counts[c] > counts[best] || (counts[c] === counts[best] && rank[c] < rank[best])) best = c;
      }
      for (let p = start; p < end; p++) {
        items[g.annotator[p]]++;
        if (g.category[p] === best) agreed[g.annotator[p]]++;
      }
    } else {
      for (let p = start; p < end; p++) {
        const own = g.category[p];
        counts[own]--; // the others' votes
        let best = -1;
        let bestVotes = 0;
        let tied = false;
        for (let x = 0; x < d; x++) {
          const v = counts[distinct[x]];
          if (v > bestVotes) {
            best = distinct[x];
            bestVotes = v;
            tied = false;
          } else if (v === bestVotes && v > 0) {
            tied = true;
          }
        }
        counts[own]++;
        if (tied || best < 0) continue;
        items[g.annotator[p]]++;
        if (own === best) agreed[g.annotator[p]]++;
      }
    }
    for (let x = 0; x < d; x++) counts[distinct[x]] = 0;
  }

  return g.annotatorIds
    .map((annotatorId, a) => ({
      annotatorId,
      rated: rated[a],
      items: items[a],
      agreed: agreed[a],
      agreement: items[a] === 0 ? null : agreed[a] / items[a],
    }))
    .sort((x, y) => (x.annotatorId < y.annotatorId ? -1 : x.annotatorId > y.annotatorId ? 1 : 0));
}
