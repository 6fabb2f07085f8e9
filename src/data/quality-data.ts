import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { AnnotationRow, InconsistencyRecord } from '../db/models';
import { deriveFinalLabels, reconcileFinalLabels } from './final-labels';
import { finalLabelOf } from '../quality/final-label';
import { majorityVote } from '../quality/majority-vote';
import { valueCategory, type QualityItem } from '../quality/report-accumulate';
import { humanJudgementSql, NON_JUDGEMENT_STATUSES } from './human-annotations';

/**
 * The validation workflow's reads and writes of quality data: pages of items with their
 * annotations, final labels, inconsistency rows and live-suggestion feedback. The activities in
 * activities/validation.ts orchestrate; this module knows the tables.
 */

/** Which items a validation covers: the whole project, or the item list of a job (its own snapshot of `item_ids`, or another job's). */
export type ValidationScope = { kind: 'project' } | { kind: 'job'; jobId: string };

// The human-judgement filter has one definition, shared with the conflict reads.
export { NON_JUDGEMENT_STATUSES };

export interface PageQuery {
  tenantId: string;
  projectId: string;
  scope: ValidationScope;
  /** Keyset cursor: items with seq > afterSeq (item seq for a project, job_items.seq for a job)… */
  afterSeq: number;
  /** …at most `limit` of them, or (without a limit) those with seq < beforeSeq: a range page. */
  limit?: number;
  beforeSeq?: number;
}

export type LoadedItem = QualityItem & { seq: number; text?: string };

/** The ids of the next `limit` items in scope after `afterSeq`, in order, with the last seq (keyset paging). */
export async function scopeItemIds(db: Knex, q: Omit<PageQuery, 'beforeSeq'> & { limit: number }): Promise<{ ids: string[]; lastSeq: number | null }> {
  const rows: { id: string; seq: string | number }[] =
    q.scope.kind === 'project'
      ? await db('items').where({ project_id: q.projectId, tenant_id: q.tenantId }).andWhere('seq', '>', q.afterSeq).orderBy('seq').limit(q.limit).select('id', 'seq')
      : await db('job_items').where({ job_id: q.scope.jobId }).andWhere('seq', '>', q.afterSeq).orderBy('seq').limit(q.limit).select('item_id as id', 'seq');
  return { ids: rows.map((r) => r.id), lastSeq: rows.length ? Number(rows[rows.length - 1].seq) : null };
}

/**
 * One page of items in scope, in order, with their annotations: the latest human annotation per
 * (item, annotator) and the latest AI annotation per (item, engine). Two indexed queries.
 */
export async function loadQualityPage(db: Knex, q: PageQuery, withText = false): Promise<LoadedItem[]> {
  const cols = ['i.id', 'i.gold_label', ...(withText ? [db.raw("COALESCE(i.data->>'text', i.data::text) AS text")] : [])];
  const rows: { id: string; seq: string | number; gold_label: unknown; text?: string }[] =
    q.scope.kind === 'project'
      ? await db('items as i')
          .where({ 'i.project_id': q.projectId, 'i.tenant_id': q.tenantId })
          .andWhere('i.seq', '>', q.afterSeq)
          .modify((b) => (q.limit !== undefined ? b.limit(q.limit) : b.andWhere('i.seq', '<', q.beforeSeq!)))
          .orderBy('i.seq')
          .select(...cols, 'i.seq')
      : await db('job_items as ji')
          .join('items as i', 'i.id', 'ji.item_id')
          .where('ji.job_id', q.scope.jobId)
          .andWhere({ 'i.project_id': q.projectId, 'i.tenant_id': q.tenantId })
          .andWhere('ji.seq', '>', q.afterSeq)
          .modify((b) => (q.limit !== undefined ? b.limit(q.limit) : b.andWhere('ji.seq', '<', q.beforeSeq!)))
          .orderBy('ji.seq')
          .select(...cols, 'ji.seq as seq');
  if (rows.length === 0) return [];
  const items = new Map<string, LoadedItem>();
  for (const r of rows) {
    items.set(r.id, { itemId: r.id, seq: Number(r.seq), gold: valueCategory(r.gold_label), human: [], ai: [], ...(withText ? { text: r.text ?? '' } : {}) });
  }
  const annotations: Pick<AnnotationRow, 'item_id' | 'source' | 'annotator_id' | 'engine_id' | 'value' | 'status' | 'created_at'>[] =
    await db.raw(
      // One index probe per item (annotations (project_id, item_id)): the LATERAL subquery with
      // OFFSET 0 is not flattened, so the planner cannot turn a page into a scan of the project's
      // annotations (which would make a validation quadratic in the project's size).
      `SELECT DISTINCT ON (a.item_id, a.source, a.annotator_id)
              a.item_id, a.source, a.annotator_id, a.engine_id, a.value, a.status, a.created_at
         FROM unnest(?::uuid[]) AS p(item_id)
         CROSS JOIN LATERAL (
                SELECT x.* FROM annotations x WHERE x.project_id = ? AND x.item_id = p.item_id OFFSET 0
              ) a
        WHERE (a.source = 'ai' OR (${humanJudgementSql('a')}))
          ${withText ? "AND a.source = 'human'" : ''}
        ORDER BY a.item_id, a.source, a.annotator_id, a.created_at DESC, a.id DESC`,
      [[...items.keys()], q.projectId, NON_JUDGEMENT_STATUSES],
    ).then((r: { rows: never[] }) => r.rows);
  // The final label of each item. The decisions that set it keep `final_labels` current in their
  // own transactions; validation derives the page's labels again from their sources and repairs
  // what differs, so annotations loaded around the API (SQL bulk loads) are measured too. The
  // near-duplicate pass (withText, beside the metrics pages) only derives: one writer per page.
  const finals = withText
    ? await deriveFinalLabels(db, q.projectId, [...items.keys()])
    : await reconcileFinalLabels(db, { tenantId: q.tenantId, projectId: q.projectId, itemIds: [...items.keys()] });
  for (const item of items.values()) item.final = null;
  for (const f of finals) items.get(f.itemId)!.final = { status: f.status, label: f.label, source: f.source };
  for (const a of annotations) {
    const item = items.get(a.item_id)!;
    const value = valueCategory(a.value);
    if (a.source === 'human') {
      if (value !== null) item.human.push({ annotatorId: a.annotator_id, value, at: new Date(a.created_at).getTime() });
    } else {
      item.ai.push({ engineId: a.engine_id ?? a.annotator_id, value, status: a.status });
    }
  }
  return [...items.values()];
}

/**
 * The final label of each item of a page: its `final_labels` row as loaded, else (items loaded
 * without it) `finalLabelOf`, gold else the majority of its human annotations. A tie is
 * unresolved and left out.
 */
export function finalLabels(items: LoadedItem[], labels: string[]): Map<string, string> {
  const majority = majorityVote(
    items.flatMap((i) => i.human.map((h) => ({ itemId: i.itemId, annotatorId: h.annotatorId, value: h.value }))),
    labels,
  );
  const out = new Map<string, string>();
  for (const i of items) {
    const f = i.final !== undefined ? i.final : finalLabelOf(i.gold, majority.get(i.itemId));
    if (f && f.label !== null) out.set(i.itemId, f.label);
  }
  return out;
}

/** An inconsistency as validation finds it: the model's row without what `insertInconsistencies` adds. */
export type InconsistencyRow = Pick<InconsistencyRecord, 'kind' | 'item_ids' | 'details' | 'severity' | 'dedupe_key'> &
  Partial<Pick<InconsistencyRecord, 'annotator_id' | 'label'>>;

export async function insertInconsistencies(db: Knex, base: { tenantId: string; projectId: string; jobId: string }, rows: InconsistencyRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 1000) {
    await db('inconsistencies')
      .insert(
        rows.slice(i, i + 1000).map((r) => ({
          id: crypto.randomUUID(),
          tenant_id: base.tenantId,
          project_id: base.projectId,
          job_id: base.jobId,
          kind: r.kind,
          item_ids: JSON.stringify(r.item_ids),
          annotator_id: r.annotator_id ?? null,
          label: r.label ?? null,
          details: JSON.stringify(r.details),
          severity: r.severity,
          dedupe_key: r.dedupe_key,
        })),
      )
      .onConflict(['job_id', 'dedupe_key'])
      .ignore();
  }
}

/** Accepted and rejected (or modified) live suggestions per engine, for the items in scope (all of the project's for a project). */
export async function suggestionFeedback(
  db: Knex,
  input: { tenantId: string; projectId: string; scope: ValidationScope },
): Promise<{ engine_id: string; accepted: number; rejected: number }[]> {
  const q = db('suggestions')
    .where({ tenant_id: input.tenantId, project_id: input.projectId })
    .whereNotNull('engine_id')
    .whereIn('feedback_action', ['accept', 'reject', 'modify'])
    .groupBy('engine_id')
    .orderBy('engine_id')
    .select('engine_id', db.raw("count(*) FILTER (WHERE feedback_action = 'accept') AS accepted"), db.raw("count(*) FILTER (WHERE feedback_action <> 'accept') AS rejected"));
  if (input.scope.kind === 'job') q.whereIn('item_id', db('job_items').where({ job_id: input.scope.jobId }).select('item_id'));
  const rows: { engine_id: string; accepted: string; rejected: string }[] = await q;
  return rows.map((r) => ({ engine_id: r.engine_id, accepted: Number(r.accepted), rejected: Number(r.rejected) }));
}

