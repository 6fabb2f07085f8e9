import type { Knex } from 'knex';
import type { AnnotationRow } from '../db/models';
import type { AnnotationValue } from '../llm/types';

/**
 * Reads of human annotations shared by conflict detection (src/tasks/conflicts.ts, in the
 * writing transaction) and the conflict activities (automatic resolution).
 */

/** A human annotation with its value (never null: only valued ones are read). */
export type HumanValue = Pick<AnnotationRow, 'id' | 'item_id' | 'annotator_id' | 'created_at'> & { value: AnnotationValue };

/** Latest human value per (item, annotator) of a project, optionally for one item. */
export async function latestHumanValues(
  db: Knex | Knex.Transaction,
  projectId: string,
  itemId?: string | string[],
): Promise<HumanValue[]> {
  const q = db('annotations')
    .distinctOn('item_id', 'annotator_id')
    .where({ project_id: projectId, source: 'human' })
    .whereNotNull('value')
    .orderBy([{ column: 'item_id' }, { column: 'annotator_id' }, { column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .select('id', 'item_id', 'annotator_id', 'value', 'created_at');
  if (Array.isArray(itemId)) q.whereIn('item_id', itemId);
  else if (itemId) q.where('item_id', itemId);
  return q;
}

/** Items of the project's history Dawid–Skene learns from (the most recently annotated ones). */
export const DS_HISTORY_ITEMS = 5000;

/**
 * The ratings Dawid–Skene needs: none while the project has fewer than `minItems` items with two
 * or more human annotators (majority vote decides then); else the latest values on the
 * DS_HISTORY_ITEMS most recently annotated such items, plus the conflicting item.
 */
export async function dawidSkeneHistory(db: Knex, projectId: string, itemId: string, minItems: number) {
  const multi = db('annotations')
    .where({ project_id: projectId, source: 'human' })
    .whereNotNull('value')
    .groupBy('item_id')
    .havingRaw('count(DISTINCT annotator_id) >= 2')
    .select('item_id');
  const [{ n }] = await db.from(multi.clone().as('m')).count({ n: '*' });
  if (Number(n) < minItems) return [];
  const recent: string[] = await multi.clone().orderByRaw('max(created_at) DESC').limit(DS_HISTORY_ITEMS).pluck('item_id');
  return latestHumanValues(db, projectId, [...new Set([...recent, itemId])]);
}
