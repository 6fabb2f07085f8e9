import { dawidSkeneEvidence, fitAggregationModel, type AggregationModel } from '../quality/aggregation-model';
import { majorityVote } from '../quality/majority-vote';
import type { LabelOrder, Rating } from '../quality/types';

/**
 * Automatic conflict resolution (pure). It never invents a label: the answer is always one of
 * the labels the item's annotators gave, or no answer (an expert decides).
 *
 * 1. Dawid–Skene, only under the evidence rule (`dawidSkeneEvidence`: converged fit, at least
 *    `dsMinItems` items with two or more annotators, each of the item's annotators on at least
 *    `dsMinItems` of them, and their estimated accuracies at least 0.2 apart). It picks the given
 *    label with the highest posterior; margin = that posterior − the highest posterior of any other
 *    label, given or not (so a fit that believes in a label nobody gave has a negative margin and
 *    does not resolve).
 * 2. Otherwise majority vote over the item's annotations (one vote per annotator, the latest):
 *    margin = (votes of the winner − votes of the runner-up) / votes.
 * 3. The chosen method resolves the conflict when margin ≥ `minMargin` (default 0.3: a 2–1 vote
 *    resolves) and margin > 0: a tie is never resolved automatically, also not with `minMargin`
 *    0, which means "resolve whatever has a strict winner". Dawid–Skene's margin must also reach
 *    `DS_MIN_MARGIN`: its posteriors are over-confident (on generated data a posterior margin of
 *    0.3–0.6 was right 55–80% of the time, a 2–1 vote 85–95%). Otherwise an expert decides.
 */
export const DEFAULT_MIN_MARGIN = 0.3;
export const DS_MIN_MARGIN = 0.6;
export const DEFAULT_DS_MIN_ITEMS = 50;

export interface AutoResolution {
  method: 'majority_vote' | 'dawid_skene';
  /** The proposed label (one the item's annotators gave), or null when there is none (a tie). */
  label: string | null;
  margin: number;
  resolved: boolean;
  tied: boolean;
  votes: Record<string, number>;
  posterior?: Record<string, number>;
  /** Why Dawid–Skene did not decide, when a project history was given but it was not used. */
  dsSkipped?: string;
  /** The fit's iterations and convergence, when one was made or passed. */
  dsFit?: { iterations: number; converged: boolean };
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

export function autoResolve(input: {
  itemId: string;
  /** The item's ratings (latest per annotator). */
  itemRatings: readonly Rating[];
  /** Every human rating of the project (for Dawid–Skene); may be empty. */
  projectRatings?: readonly Rating[];
  /** A fit of the project's history made beforehand (e.g. once per validation run); used instead of fitting `projectRatings`. */
  model?: AggregationModel;
  labels: LabelOrder;
  minMargin?: number;
  dsMinItems?: number;
  /** Least spread of the item's annotators' estimated accuracies for Dawid–Skene (default `DS_MIN_ACCURACY_GAP`). */
  dsMinAccuracyGap?: number;
}): AutoResolution {
  const minMargin = input.minMargin ?? DEFAULT_MIN_MARGIN;
  const dsMinItems = input.dsMinItems ?? DEFAULT_DS_MIN_ITEMS;
  const mv = majorityResolution(input.itemId, input.itemRatings, input.labels, minMargin);
  const project = input.projectRatings ?? [];
  let model = input.model;
  if (!model && project.length && itemsWithHistory(project) >= dsMinItems) model = fitAggregationModel(project, input.labels);
  if (!model) return mv;
  const dsFit = { iterations: model.fit.iterations, converged: model.fit.converged };
  const annotators = [...new Set(input.itemRatings.map((r) => r.annotatorId))];
  const evidence = dawidSkeneEvidence(model, annotators, { minItems: dsMinItems, minAccuracyGap: input.dsMinAccuracyGap });
  if (!evidence.usable) return { ...mv, dsSkipped: evidence.reason, dsFit };
  const ds = dawidSkeneResolution(model, input.itemId, input.itemRatings, minMargin, mv.votes);
  return ds ? { ...ds, dsFit } : { ...mv, dsSkipped: 'the item is not in the fit', dsFit };
}

/** Majority vote with a margin; a tie has no label and margin 0. */
export function majorityResolution(itemId: string, itemRatings: readonly Rating[], labels: LabelOrder, minMargin = DEFAULT_MIN_MARGIN): AutoResolution {
  const mv = majorityVote(itemRatings, labels).get(itemId);
  if (!mv) throw new Error(`no ratings for item ${itemId}`);
  const votes = countVotes(itemRatings);
  const margin = mv.total ? (mv.votes - mv.runnerUpVotes) / mv.total : 0;
  return { method: 'majority_vote', label: mv.label, margin, resolved: resolves(margin, minMargin), tied: mv.tied, votes };
}

/**
 * Dawid–Skene's pick among the labels the item's annotators gave (null when the item is not in
 * the fit). No evidence check: `autoResolve` decides whether to ask.
 */
export function dawidSkeneResolution(
  model: AggregationModel,
  itemId: string,
  itemRatings: readonly Rating[],
  minMargin = DEFAULT_MIN_MARGIN,
  votes: Record<string, number> = countVotes(itemRatings),
): AutoResolution | null {
  const { fit } = model;
  const item = fit.items[itemIndex(fit).get(itemId) ?? -1];
  if (!item) return null;
  const given = new Set(itemRatings.map((r) => String(r.value)));
  let best = -1;
  for (let k = 0; k < fit.categories.length; k++) {
    if (given.has(fit.categories[k]) && (best < 0 || item.posterior[k] > item.posterior[best])) best = k;
  }
  if (best < 0) return null;
  let rival = 0;
  for (let k = 0; k < fit.categories.length; k++) if (k !== best) rival = Math.max(rival, item.posterior[k]);
  const margin = item.posterior[best] - rival;
  const tied = margin === 0;
  const posterior = Object.fromEntries(fit.categories.map((c, k) => [c, item.posterior[k]]));
  return { method: 'dawid_skene', label: tied ? null : fit.categories[best], margin, resolved: resolves(margin, Math.max(minMargin, DS_MIN_MARGIN)), tied, votes, posterior };
}

// One index per fit: a model fitted once per validation run is asked about every conflict.
const indexes = new WeakMap<AggregationModel['fit'], Map<string, number>>();
function itemIndex(fit: AggregationModel['fit']): Map<string, number> {
  let index = indexes.get(fit);
  if (!index) indexes.set(fit, (index = new Map(fit.items.map((it, i) => [it.itemId, i]))));
  return index;
}

/** A strict winner by at least the margin; a tie (margin 0) never resolves, also at `minMargin` 0. */
function resolves(margin: number, minMargin: number): boolean {
  return margin > 0 && margin >= minMargin;
}

function countVotes(itemRatings: readonly Rating[]): Record<string, number> {
  const latest = new Map<string, string>();
  for (const r of itemRatings) latest.set(r.annotatorId, String(r.value));
  const votes: Record<string, number> = {};
  for (const v of latest.values()) votes[v] = (votes[v] ?? 0) + 1;
  return votes;
}
