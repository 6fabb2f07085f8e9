import type { LabelOrder, Rating, RatingValue } from './types';

/**
 * Ratings grouped by item in flat typed arrays (CSR layout): the ratings of item `i` are the
 * positions `itemStart[i] .. itemStart[i+1]-1` of `annotator` and `category`.
 *
 * Why: every agreement measure works unit by unit; grouping once with Maps and typed arrays keeps
 * 100k items × 3 ratings at a few MB and every measure linear in the number of ratings.
 */
export interface GroupedRatings {
  /** Item ids in first-seen order. */
  itemIds: string[];
  /** Annotator ids in first-seen order. */
  annotatorIds: string[];
  /** Category keys: the label order first, then values outside it in first-seen order. */
  categories: string[];
  /** How many of `categories` came from the label order. */
  knownCategories: number;
  itemStart: Int32Array;
  annotator: Int32Array;
  category: Int32Array;
}

/** The category key of a value: numbers and strings compare by their string form. */
export function categoryKey(value: RatingValue): string {
  return typeof value === 'string' ? value : String(value);
}

export interface GroupOptions {
  /** Reject values that are not in `labels` (needed where categories must be ordered). */
  strictLabels?: boolean;
}

/**
 * Groups ratings by item. If an annotator rated an item more than once, the last rating in input
 * order wins (a re-submission replaces the earlier one), so every unit holds at most one value per
 * annotator. O(ratings + items + annotators).
 */
export function groupRatings(ratings: readonly Rating[], labels: LabelOrder = [], options: GroupOptions = {}): GroupedRatings {
  const categories: string[] = [];
  const categoryIndex = new Map<string, number>();
  for (const label of labels) {
    if (categoryIndex.has(label)) throw new Error(`duplicate label in label order: ${JSON.stringify(label)}`);
    categoryIndex.set(label, categories.length);
    categories.push(label);
  }
  const knownCategories = categories.length;

  const itemIds: string[] = [];
  const itemIndex = new Map<string, number>();
  const annotatorIds: string[] = [];
  const annotatorIndex = new Map<string, number>();

  const n = ratings.length;
  const rItem = new Int32Array(n);
  const rAnn = new Int32Array(n);
  const rCat = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const { itemId, annotatorId, value } = ratings[r];
    let i = itemIndex.get(itemId);
    if (i === undefined) {
      i = itemIds.length;
      itemIndex.set(itemId, i);
      itemIds.push(itemId);
    }
    let a = annotatorIndex.get(annotatorId);
    if (a === undefined) {
      a = annotatorIds.length;
      annotatorIndex.set(annotatorId, a);
      annotatorIds.push(annotatorId);
    }
    const key = categoryKey(value);
    let c = categoryIndex.get(key);
    if (c === undefined) {
      if (options.strictLabels) throw new Error(`value ${JSON.stringify(key)} is not in the label order`);
      c = categories.length;
      categoryIndex.set(key, c);
      categories.push(key);
    }
    rItem[r] = i;
    rAnn[r] = a;
    rCat[r] = c;
  }

  // Counting sort by item; a stable pass keeps input order within an item.
  const items = itemIds.length;
  const count = new Int32Array(items + 1);
  for (let r = 0; r < n; r++) count[rItem[r] + 1]++;
  for (let i = 0; i < items; i++) count[i + 1] += count[i];
  const order = new Int32Array(n);
  const cursor = count.slice(0, items);
  for (let r = 0; r < n; r++) order[cursor[rItem[r]]++] = r;

  // Deduplicate (item, annotator), keeping the last rating: walk each item backwards and stamp
  // annotators as seen (stamp = item index + 1), so this is O(1) per rating.
  const seen = new Int32Array(annotatorIds.length);
  const keep = new Uint8Array(n);
  let kept = 0;
  for (let i = 0; i < items; i++) {
    for (let p = count[i + 1] - 1; p >= count[i]; p--) {
      const a = rAnn[order[p]];
      if (seen[a] !== i + 1) {
        seen[a] = i + 1;
        keep[p] = 1;
        kept++;
      }
    }
  }

  const itemStart = new Int32Array(items + 1);
  const annotator = new Int32Array(kept);
  const category = new Int32Array(kept);
  let w = 0;
  for (let i = 0; i < items; i++) {
    itemStart[i] = w;
    for (let p = count[i]; p < count[i + 1]; p++) {
      if (!keep[p]) continue;
      const r = order[p];
      annotator[w] = rAnn[r];
      category[w] = rCat[r];
      w++;
    }
  }
  itemStart[items] = w;

  return { itemIds, annotatorIds, categories, knownCategories, itemStart, annotator, category };
}
