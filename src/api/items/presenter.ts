import type { FinalLabelRow, ItemRow } from '../../db/models';
import { presentFinalLabel } from '../final-labels/presenter';
import { iso } from '../../formats';

/** The columns an item's API shape is made of (the list selects only these). */
export type PresentedItemColumns = Pick<ItemRow, 'id' | 'project_id' | 'external_id' | 'data' | 'gold_label' | 'created_at'>;

/** An item with its final label (null while nothing decided it). */
export function presentItem(i: PresentedItemColumns, final: FinalLabelRow | null | undefined) {
  return {
    id: i.id,
    project_id: i.project_id,
    external_id: i.external_id,
    data: i.data,
    gold_label: i.gold_label ?? null,
    created_at: iso(i.created_at),
    final_label: presentFinalLabel(final),
  };
}
