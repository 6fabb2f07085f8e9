import { dawidSkene, type DawidSkeneOptions, type DawidSkeneResult } from './dawid-skene';
import type { LabelOrder, Rating } from './types';

/**
 * A Dawid–Skene fit of a project's human ratings with the evidence behind it: how many items had
 * two or more annotators, and per annotator how many of those they rated and their estimated
 * accuracy. Fitted once (per validation run, or per conflict) and then asked about any item.
 */
export interface AggregationModel {
  fit: DawidSkeneResult;
  /** Items with two or more annotators: the only ones that say anything about an annotator's errors. */
  itemsWithHistory: number;
  annotators: Record<string, AnnotatorEvidence>;
}

export interface AnnotatorEvidence {
  /** Items with two or more annotators that this annotator rated. */
  sharedItems: number;
  /** Estimated accuracy: Σ_k p_k π[k][k] (class priors times the confusion matrix's diagonal). */
  accuracy: number;
}

export function fitAggregationModel(ratings: readonly Rating[], labels: LabelOrder, options: Omit<DawidSkeneOptions, 'labels'> = {}): AggregationModel {
  const fit = dawidSkene(ratings, { ...options, labels });
  const perItem = new Map<string, Set<string>>();
  for (const r of ratings) {
    let s = perItem.get(r.itemId);
    if (!s) perItem.set(r.itemId, (s = new Set()));
    s.add(r.annotatorId);
  }
  const shared = new Map<string, number>();
  let itemsWithHistory = 0;
  for (const annotators of perItem.values()) {
    if (annotators.size < 2) continue;
    itemsWithHistory++;
    for (const a of annotators) shared.set(a, (shared.get(a) ?? 0) + 1);
  }
  const annotators: Record<string, AnnotatorEvidence> = {};
  for (const { annotatorId, matrix } of fit.confusion) {
    let accuracy = 0;
    fit.classPriors.forEach((p, k) => (accuracy += p * matrix[k][k]));
    annotators[annotatorId] = { sharedItems: shared.get(annotatorId) ?? 0, accuracy };
  }
  return { fit, itemsWithHistory, annotators };
}

/**
 * The evidence rule: Dawid–Skene may decide an item only when
 * 1. the fit converged (a fit stopped at the iteration cap is not an estimate);
 * 2. the project has at least `minItems` items with two or more annotators;
 * 3. each of the item's annotators rated at least `minItems` of those (their confusion matrix is
 *    estimated from their own work, not from the smoothing prior);
 * 4. the item's annotators' estimated accuracies differ by at least `minAccuracyGap`: weighing
 *    annotators is all Dawid–Skene adds to a vote, so among equally good annotators it only adds
 *    estimation noise (on generated data it then does worse than majority vote), while with a
 *    spammer or an adversary among them it does better (test/unit/annotation/aggregation-choice.test.ts).
 */
export const DS_MIN_ACCURACY_GAP = 0.2;

export interface EvidenceRule {
  minItems: number;
  minAccuracyGap?: number;
}

export type Evidence = { usable: true; accuracyGap: number } | { usable: false; reason: string };

export function dawidSkeneEvidence(model: AggregationModel, annotatorIds: readonly string[], rule: EvidenceRule): Evidence {
  const minAccuracyGap = rule.minAccuracyGap ?? DS_MIN_ACCURACY_GAP;
  if (!model.fit.converged) return { usable: false, reason: `Dawid–Skene did not converge in ${model.fit.iterations} iterations` };
  if (model.itemsWithHistory < rule.minItems) return { usable: false, reason: `${model.itemsWithHistory} items with two or more annotators, fewer than ${rule.minItems}` };
  let lo = Infinity;
  let hi = -Infinity;
  for (const id of annotatorIds) {
    const a = model.annotators[id];
    if (!a || a.sharedItems < rule.minItems) return { usable: false, reason: `annotator ${id} shares ${a?.sharedItems ?? 0} items with others, fewer than ${rule.minItems}` };
    lo = Math.min(lo, a.accuracy);
    hi = Math.max(hi, a.accuracy);
  }
  const accuracyGap = annotatorIds.length ? hi - lo : 0;
  if (!(accuracyGap >= minAccuracyGap)) return { usable: false, reason: `estimated accuracies differ by ${accuracyGap.toFixed(3)}, less than ${minAccuracyGap}` };
  return { usable: true, accuracyGap };
}
