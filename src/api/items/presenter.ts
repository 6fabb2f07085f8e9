import { iso } from '../../formats';

export interface ItemRow {
  id: string;
  project_id: string;
  external_id: string | null;
  data: Record<string, unknown>;
  gold_label: unknown;
  created_at: Date;
}

export function presentItem(i: ItemRow) {
  return {
    id: i.id,
    project_id: i.project_id,
    external_id: i.external_id,
    data: i.data,
    gold_label: i.gold_label ?? null,
    created_at: iso(i.created_at),
  };
}
