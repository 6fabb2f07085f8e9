import { valueKey } from './label-value';
import type { AnnotationValue } from '../llm/types';

/** One annotator's latest human value on an item (as `latestHumanValues` reads them). */
export interface HumanValue {
  id: string;
  item_id: string;
  annotator_id: string;
  value: AnnotationValue;
}

/**
 * The items whose latest human values disagree: at least two annotators and at least two
 * distinct values (label sets compare regardless of order). Pure: the conflict command reads the
 * rows, this decides. Items keep the order of their first row; each maps to its rows.
 */
export function disagreeingItems<T extends HumanValue>(rows: readonly T[]): Map<string, T[]> {
  const byItem = new Map<string, T[]>();
  for (const r of rows) {
    const list = byItem.get(r.item_id);
    if (list) list.push(r);
    else byItem.set(r.item_id, [r]);
  }
  const out = new Map<string, T[]>();
  for (const [itemId, list] of byItem) {
    const annotators = new Set(list.map((r) => r.annotator_id));
    const keys = new Set(list.map((r) => valueKey(r.value)));
    if (annotators.size >= 2 && keys.size >= 2) out.set(itemId, list);
  }
  return out;
}

/**
 * Lock keys of the items a transaction may open conflicts on, sorted and unique: every writer
 * takes them in the same order, so two transactions over overlapping items cannot deadlock.
 */
export function conflictLockKeys(itemIds: readonly string[]): string[] {
  return [...new Set(itemIds)].sort().map((id) => `conflict:${id}`);
}
