import { dawidSkene } from '../quality/dawid-skene';
import { majorityVote } from '../quality/majority-vote';
import type { LabelOrder, Rating } from '../quality/types';

/**
 * Automatic conflict resolution (pure).
 *
 * - Majority vote over the item's human annotations (one vote per annotator, the latest). Ties go
 *   to the label that comes first in the project's label order (the `majorityVote` tie rule).
 *   Margin = (votes of the winner − votes of the runner-up) / votes.
 * - Dawid–Skene once the project has history: at least `dsMinItems` items (default 50) with two
 *   or more human annotations. EM then weighs each annotator by their estimated confusion matrix;
 *   margin = posterior of the winner − posterior of the runner-up.
 * - The conflict is resolved automatically when margin ≥ `minMargin` (default 0.3: a 2–1 vote
 *   resolves, a 1–1 tie does not and goes to an expert). With `minMargin` 0 every conflict
 *   resolves, ties by the label order.
 */
export const DEFAULT_MIN_MARGIN = 0.3;
export const DEFAULT_DS_MIN_ITEMS = 50;

export interface AutoResolution {
  method: 'majority_vote' | 'dawid_skene';
  label: string;
  margin: number;
  resolved: boolean;
  tied: boolean;
  votes: Record<string, number>;
  posterior?: Record<string, number>;
}

export function itemsWithHistory(ratings: readonly Rating[]): number {
  const per = new Map<string, Set<string>>();
  for (const r of ratings) {
    let s = per.get(r.itemId);
    if (!s) per.set(r.itemId, (s = new Set()));
    s.add(r.annotatorId);
  }
  let n = 0;
  for (const s of per.values()) if (s.size >= 2) n++;
  return n;
}

/**
 * One Dawid–Skene fit per ratings array (and label order): validation decides up to 1,000
 * conflicts against the one history it read, so the model is fitted once per run, not per item.
 */
const fits = new WeakMap<readonly Rating[], Map<string, ReturnType<typeof dawidSkene>>>();
function fittedOnce(ratings: readonly Rating[], labels: LabelOrder): ReturnType<typeof dawidSkene> {
  let byLabels = fits.get(ratings);
  if (!byLabels) fits.set(ratings, (byLabels = new Map()));
  const key = JSON.stringify(labels);
  let fit = byLabels.get(key);
  if (!fit) byLabels.set(key, (fit = dawidSkene(ratings, { labels })));
  return fit;
}

const histories = new WeakMap<readonly Rating[], number>();
function historyOnce(ratings: readonly Rating[]): number {
  let n = histories.get(ratings);
  if (n === undefined) histories.set(ratings, (n = itemsWithHistory(ratings)));
  return n;
}

export function autoResolve(input: {
  itemId: string;
  /** The item's ratings (latest per annotator). */
  itemRatings: readonly Rating[];
  /** Every human rating of the project (for Dawid–Skene); may be empty. */
  projectRatings?: readonly Rating[];
  labels: LabelOrder;
  minMargin?: number;
  dsMinItems?: number;
}): AutoResolution {
  const minMargin = input.minMargin ?? DEFAULT_MIN_MARGIN;
  const dsMinItems = input.dsMinItems ?? DEFAULT_DS_MIN_ITEMS;
  const votes: Record<string, number> = {};
  for (const r of input.itemRatings) votes[String(r.value)] = (votes[String(r.value)] ?? 0) + 1;
  const project = input.projectRatings ?? [];
  if (project.length && historyOnce(project) >= dsMinItems) {
    const ds = fittedOnce(project, input.labels);
    const item = ds.items.find((i) => i.itemId === input.itemId);
    if (item) {
      const sorted = [...item.posterior].sort((a, b) => b - a);
      const margin = sorted[0] - (sorted[1] ?? 0);
      const posterior = Object.fromEntries(ds.categories.map((c, k) => [c, item.posterior[k]]));
      return { method: 'dawid_skene', label: item.label, margin, resolved: margin >= minMargin, tied: margin === 0, votes, posterior };
    }
  }
  const mv = majorityVote(input.itemRatings, input.labels).get(input.itemId);
  if (!mv) throw new Error(`no ratings for item ${input.itemId}`);
  const counts = Object.values(votes).sort((a, b) => b - a);
  const margin = mv.total ? (counts[0] - (counts[1] ?? 0)) / mv.total : 0;
  return { method: 'majority_vote', label: mv.label, margin, resolved: margin >= minMargin, tied: mv.tied, votes };
}
