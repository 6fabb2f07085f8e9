import { categoryKey, groupRatings } from './group';
import type { Rating, RatingValue } from './types';

/**
 * Per-annotator accuracy against gold (known-answer) items: correct / gold items rated.
 * Values compare by their string form (`3` equals `"3"`); one rating per (item, annotator), the
 * last one wins. Every annotator in `ratings` is listed; accuracy is null when they rated no gold item.
 */
export interface GoldAccuracy {
  annotatorId: string;
  /** Gold items the annotator rated. */
  items: number;
  correct: number;
  accuracy: number | null;
}

export type GoldLabels = ReadonlyMap<string, RatingValue> | Readonly<Record<string, RatingValue>>;

/** Gold accuracy per annotator, ordered by annotator id. O(ratings). */
export function goldAccuracy(ratings: readonly Rating[], gold: GoldLabels): GoldAccuracy[] {
  const lookup = goldLookup(gold);
  const g = groupRatings(ratings);
  const annotators = g.annotatorIds.length;
  const items = new Int32Array(annotators);
  const correct = new Int32Array(annotators);
  for (let i = 0; i < g.itemIds.length; i++) {
    const answer = lookup(g.itemIds[i]);
    if (answer === undefined) continue;
    for (let p = g.itemStart[i]; p < g.itemStart[i + 1]; p++) {
      items[g.annotator[p]]++;
      if (g.categories[g.category[p]] === answer) correct[g.annotator[p]]++;
    }
  }
  return g.annotatorIds
    .map((annotatorId, a) => ({
      annotatorId,
      items: items[a],
      correct: correct[a],
      accuracy: items[a] === 0 ? null : correct[a] / items[a],
    }))
    .sort((x, y) => (x.annotatorId < y.annotatorId ? -1 : x.annotatorId > y.annotatorId ? 1 : 0));
}

function goldLookup(gold: GoldLabels): (itemId: string) => string | undefined {
  if (gold instanceof Map) {
    return (id) => {
      const v = gold.get(id);
      return v === undefined ? undefined : categoryKey(v);
    };
  }
  const record = gold as Readonly<Record<string, RatingValue>>;
  // Own properties only: an item id like "constructor" must not hit Object.prototype.
  return (id) => (Object.prototype.hasOwnProperty.call(record, id) ? categoryKey(record[id]) : undefined);
}
