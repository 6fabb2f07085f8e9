import type { Knex } from 'knex';
import type { AnnotationRow } from '../db/models';
import type { AnnotationValue } from '../llm/types';

/**
 * Reads of human annotations shared by conflict detection (src/tasks/conflicts.ts, in the
 * writing transaction), the conflict activities and the quality pipeline (src/data/quality-data.ts):
 * one definition of which human annotations are judgements.
 */

/** Human annotations in these states are not judgements (yet, or any more). */
export const NON_JUDGEMENT_STATUSES = ['draft', 'rejected', 'superseded', 'deleted', 'skipped'];

/**
 * THE filter of human judgements, as SQL on the annotations alias `a` with one binding
 * (`NON_JUDGEMENT_STATUSES`): a human annotation with a value in a judgement state. Validation's
 * page reads and every conflict read use it, so a conflict is opened on exactly the values the
 * report counts.
 */
export const humanJudgementSql = (a: string) => `${a}.source = 'human' AND ${a}.value IS NOT NULL AND ${a}.status <> ALL(?::text[])`;

/** The same filter on a knex query of `annotations` (unaliased). */
export function whereHumanJudgement<Q extends Knex.QueryBuilder>(q: Q): Q {
  return q.whereRaw(humanJudgementSql('annotations'), [NON_JUDGEMENT_STATUSES]) as Q;
}

/** A human annotation with its value (never null: only valued ones are read). */
export type HumanValue = Pick<AnnotationRow, 'id' | 'item_id' | 'annotator_id' | 'created_at'> & { value: AnnotationValue };

/** Latest human judgement per (item, annotator) of a project, optionally for one item or a list. */
export async function latestHumanValues(
  db: Knex | Knex.Transaction,
  projectId: string,
  itemId?: string | string[],
): Promise<HumanValue[]> {
  const q = whereHumanJudgement(db('annotations').distinctOn('item_id', 'annotator_id').where({ project_id: projectId }))
    .orderBy([{ column: 'item_id' }, { column: 'annotator_id' }, { column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .select('id', 'item_id', 'annotator_id', 'value', 'created_at');
  if (Array.isArray(itemId)) q.whereIn('item_id', itemId);
  else if (itemId) q.where('item_id', itemId);
  return q;
}

/** Items of the project's history Dawid–Skene learns from (the most recently annotated ones). */
export const DS_HISTORY_ITEMS = 5000;

/**
 * The ratings Dawid–Skene needs, read once per validation run: none while the project has fewer
 * than `minItems` items with two or more human annotators (majority vote decides then); else the
 * latest values on the DS_HISTORY_ITEMS most recently annotated such items, plus `itemIds` (the
 * items being decided).
 */
export async function dawidSkeneHistory(db: Knex, projectId: string, itemIds: string[], minItems: number) {
  const multi = whereHumanJudgement(db('annotations').where({ project_id: projectId }))
    .groupBy('item_id')
    .havingRaw('count(DISTINCT annotator_id) >= 2')
    .select('item_id');
  const [{ n }] = await db.from(multi.clone().as('m')).count({ n: '*' });
  if (Number(n) < minItems) return [];
  const recent: string[] = await multi.clone().orderByRaw('max(created_at) DESC').limit(DS_HISTORY_ITEMS).pluck('item_id');
  return latestHumanValues(db, projectId, [...new Set([...recent, ...itemIds])]);
}
