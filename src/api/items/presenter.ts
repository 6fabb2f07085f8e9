import type { ItemRow } from '../../db/models';
import { iso } from '../../formats';

/** The columns an item's API shape is made of (the list selects only these). */
export type PresentedItemColumns = Pick<ItemRow, 'id' | 'project_id' | 'external_id' | 'data' | 'gold_label' | 'created_at'>;

export function presentItem(i: PresentedItemColumns) {
  return {
    id: i.id,
    project_id: i.project_id,
    external_id: i.external_id,
    data: i.data,
    gold_label: i.gold_label ?? null,
    created_at: iso(i.created_at),
  };
}
