import { fitAggregationModel } from '../quality/aggregation-model';
import { autoResolve, itemsWithHistory } from './conflict-rules';
import type { HumanValue } from './disagreement';
import { valueKey } from './label-value';
import type { LabelOrder, Rating } from '../quality/types';
import type { AutoResolution } from './conflict-rules';

/**
 * The automatic decisions of the conflicts one validation run opens (pure). The history is read
 * once and `autoResolve` is called with the same ratings array for every item, so its model
 * (Dawid–Skene, when its rule allows it) is fitted once per run, not once per conflict.
 */

/** A human value as the aggregation modules read it (one rating; label sets by their key). */
export const humanRating = (r: Pick<HumanValue, 'item_id' | 'annotator_id' | 'value'>): Rating => ({
  itemId: r.item_id,
  annotatorId: r.annotator_id,
  value: valueKey(r.value) ?? '',
});

/** An automatic decision and the annotations (ids, sorted) it was computed on. */
export interface ConflictDecision {
  decision: AutoResolution;
  annotationIds: string[];
}

/**
 * A decider for `openConflicts`: given an item's current rows (read under its lock), its
 * decision. The history's model is used only when the item's rows in the history are exactly the
 * current ones (else the model would describe other inputs): otherwise the item's own ratings
 * decide (majority vote).
 */
export function conflictDecider(
  history: readonly HumanValue[],
  settings: { labels: LabelOrder; minMargin: number; dsMinItems: number },
): (itemId: string, rows: readonly HumanValue[]) => ConflictDecision {
  const projectRatings = history.map(humanRating);
  const idsInHistory = new Map<string, string[]>();
  for (const r of history) {
    const ids = idsInHistory.get(r.item_id);
    if (ids) ids.push(r.id);
    else idsInHistory.set(r.item_id, [r.id]);
  }
  // Fitted now, once for the run, before the caller takes any item lock.
  const model =
    projectRatings.length && itemsWithHistory(projectRatings) >= settings.dsMinItems ? fitAggregationModel(projectRatings, settings.labels) : undefined;
  return (itemId: string, rows: readonly HumanValue[]): ConflictDecision => {
    const annotationIds = rows.map((r) => r.id).sort();
    const inHistory = idsInHistory.get(itemId)?.sort().join() === annotationIds.join();
    const decision = autoResolve({
      itemId,
      itemRatings: rows.map(humanRating),
      model: inHistory ? model : undefined,
      labels: settings.labels,
      minMargin: settings.minMargin,
      dsMinItems: settings.dsMinItems,
    });
    return { decision, annotationIds };
  };
}
