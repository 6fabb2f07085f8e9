import type { Knex } from 'knex';
import { conflictLockKeys } from '../annotation/disagreement';
import type { FinalLabelRow } from '../db/models';
import { runCtes, type CteParts } from '../db/statement';
import { decideFinalLabel, type FinalLabelDecision, type FinalLabelSources, type ResolutionSource } from '../quality/final-label';
import { AI_ACCEPTED } from '../quality/report-accumulate';
import { valueCategory } from '../quality/value-category';
import { latestHumanValues } from './human-annotations';

/**
 * The `final_labels` table: one row per decided item, kept in step with its sources by the
 * transactions that change them (a human annotation or review decision, a conflict's resolution,
 * an AI annotation, an item's gold label). `refreshFinalLabels` reads an item's sources and writes
 * what `decideFinalLabel` (pure, src/quality/final-label.ts) makes of them; the AI write path
 * (`insertAiAnnotation`) does the same for an AI label in the annotation's own statement.
 *
 * Concurrency: refresh takes the items' conflict locks (the same keys `openConflicts` takes, so
 * a transaction that holds them already re-enters), then reads. Two writers of one item commit one
 * after the other, and the second reads the first's committed annotation, so the row never
 * reflects fewer sources than have committed.
 */

type Db = Knex | Knex.Transaction;

interface ConflictSourceRow {
  id: string;
  item_id: string;
  status: 'resolved' | 'auto_resolved';
  method: string | null;
  resolved_value: unknown;
  resolved_by: string | null;
  resolved_at: Date | string;
  reason: string | null;
  inputs: { annotation_id: string; annotator_id: string; value: unknown }[] | null;
}

const iso = (d: Date | string) => new Date(d).toISOString();

/** The sources of each item (gold, latest expert and automatic resolutions, human judgements, accepted AI), five indexed reads. */
export async function readFinalLabelSources(db: Db, projectId: string, itemIds: string[]): Promise<{ labels: string[]; sources: FinalLabelSources[] }> {
  const project = await db('projects').where({ id: projectId }).first('label_schema');
  const labels: string[] = Array.isArray(project?.label_schema?.labels) ? project.label_schema.labels.map(String) : [];
  const items: { id: string; gold_label: unknown; created_at: Date }[] = await db('items').where({ project_id: projectId }).whereIn('id', itemIds).select('id', 'gold_label', 'created_at');
  const { rows: resolutions } = (await db.raw(
    `SELECT DISTINCT ON (item_id, status) id, item_id, status, method, resolved_value, resolved_by, resolved_at, reason, inputs
       FROM conflicts
      WHERE project_id = ? AND item_id = ANY(?::uuid[]) AND status IN ('resolved', 'auto_resolved') AND resolved_at IS NOT NULL
      ORDER BY item_id, status, resolved_at DESC, id DESC`,
    [projectId, itemIds],
  )) as { rows: ConflictSourceRow[] };
  const human = await latestHumanValues(db, projectId, itemIds);
  // An accepted AI label counts until a human rejects the item (a rejection is not a judgement,
  // so it is not among `human`); a later AI annotation counts again.
  const { rows: ai } = (await db.raw(
    `SELECT DISTINCT ON (a.item_id) a.id, a.item_id, COALESCE(a.engine_id::text, a.annotator_id) AS engine_id, a.value, a.confidence, a.created_at
       FROM annotations a
      WHERE a.project_id = ? AND a.item_id = ANY(?::uuid[]) AND a.source = 'ai' AND a.value IS NOT NULL AND a.status = ANY(?::text[])
        AND NOT EXISTS (SELECT 1 FROM annotations h
                         WHERE h.project_id = a.project_id AND h.item_id = a.item_id AND h.source = 'human'
                           AND h.status = 'rejected' AND h.created_at >= a.created_at)
      ORDER BY a.item_id, a.created_at DESC, a.id DESC`,
    [projectId, itemIds, AI_ACCEPTED],
  )) as { rows: { id: string; item_id: string; engine_id: string; value: unknown; confidence: number | null; created_at: Date }[] };

  const resolution = (r: ConflictSourceRow): ResolutionSource => ({
    conflictId: r.id,
    status: r.status,
    method: r.method,
    value: r.resolved_value,
    resolvedBy: r.resolved_by,
    resolvedAt: iso(r.resolved_at),
    reason: r.reason,
    inputs: r.inputs ?? [],
  });
  const byItem = new Map<string, FinalLabelSources>(
    items.map((i) => [i.id, { itemId: i.id, gold: i.gold_label == null ? null : { value: i.gold_label, at: iso(i.created_at) }, expert: null, auto: null, human: [], ai: null }]),
  );
  for (const r of resolutions) {
    const s = byItem.get(r.item_id);
    if (!s) continue;
    if (r.status === 'resolved') s.expert = resolution(r);
    else s.auto = resolution(r);
  }
  for (const h of human) byItem.get(h.item_id)?.human.push({ annotationId: h.id, annotatorId: h.annotator_id, value: h.value, at: iso(h.created_at) });
  for (const a of ai) {
    const s = byItem.get(a.item_id);
    if (s) s.ai = { annotationId: a.id, engineId: a.engine_id, value: a.value, confidence: a.confidence === null ? null : Number(a.confidence), at: iso(a.created_at) };
  }
  return { labels, sources: [...byItem.values()] };
}

/** The column values of a decision, as `final_labels` stores them. */
function rowOf(tenantId: string, projectId: string, d: FinalLabelDecision) {
  return {
    item_id: d.itemId,
    tenant_id: tenantId,
    project_id: projectId,
    status: d.status,
    label: d.label,
    value: d.value,
    source: d.source,
    method: d.method,
    decided_by: d.decidedBy,
    decided_at: d.decidedAt,
    conflict_id: d.conflictId,
    annotation_id: d.annotationId,
    engine_id: d.engineId,
    confidence: d.confidence,
    inputs: d.inputs,
    details: d.details,
  };
}

/**
 * Recomputes and writes the final label of each item (an item nothing decides loses its row; a
 * row that would not change is not written). Call it in the transaction that changed a source,
 * after the change: locks, five reads, one upsert, one delete, whatever the number of items.
 */
export async function refreshFinalLabels(trx: Knex.Transaction, req: { tenantId: string; projectId: string; itemIds: string[] }): Promise<FinalLabelDecision[]> {
  const itemIds = [...new Set(req.itemIds)];
  if (!itemIds.length) return [];
  await trx.raw('SELECT count(pg_advisory_xact_lock(hashtext(k))) FROM unnest(?::text[]) AS k', [conflictLockKeys(itemIds)]);
  const { labels, sources } = await readFinalLabelSources(trx, req.projectId, itemIds);
  const decided = sources.map((s) => decideFinalLabel(s, labels)).filter((d): d is FinalLabelDecision => d !== null);
  if (decided.length) {
    await trx.raw(
      `INSERT INTO final_labels (item_id, tenant_id, project_id, status, label, value, source, method, decided_by, decided_at,
                                 conflict_id, annotation_id, engine_id, confidence, inputs, details, updated_at)
       SELECT r.item_id, r.tenant_id, r.project_id, r.status, r.label, r.value, r.source, r.method, r.decided_by, r.decided_at,
              r.conflict_id, r.annotation_id, r.engine_id, r.confidence, COALESCE(r.inputs, '[]'), COALESCE(r.details, '{}'), now()
         FROM jsonb_to_recordset(?::jsonb) AS r(item_id uuid, tenant_id text, project_id uuid, status text, label text, value jsonb,
              source text, method text, decided_by text, decided_at timestamptz, conflict_id uuid, annotation_id uuid, engine_id text,
              confidence double precision, inputs jsonb, details jsonb)
       ON CONFLICT (item_id) DO UPDATE SET
         status = EXCLUDED.status, label = EXCLUDED.label, value = EXCLUDED.value, source = EXCLUDED.source, method = EXCLUDED.method,
         decided_by = EXCLUDED.decided_by, decided_at = EXCLUDED.decided_at, conflict_id = EXCLUDED.conflict_id,
         annotation_id = EXCLUDED.annotation_id, engine_id = EXCLUDED.engine_id, confidence = EXCLUDED.confidence,
         inputs = EXCLUDED.inputs, details = EXCLUDED.details, updated_at = now()
       WHERE (final_labels.status, final_labels.label, final_labels.value, final_labels.source, final_labels.method, final_labels.decided_by,
              final_labels.decided_at, final_labels.conflict_id, final_labels.annotation_id, final_labels.engine_id, final_labels.confidence,
              final_labels.inputs, final_labels.details)
             IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.label, EXCLUDED.value, EXCLUDED.source, EXCLUDED.method, EXCLUDED.decided_by,
              EXCLUDED.decided_at, EXCLUDED.conflict_id, EXCLUDED.annotation_id, EXCLUDED.engine_id, EXCLUDED.confidence,
              EXCLUDED.inputs, EXCLUDED.details)`,
      [JSON.stringify(decided.map((d) => rowOf(req.tenantId, req.projectId, d)))],
    );
  }
  const undecided = itemIds.filter((id) => !decided.some((d) => d.itemId === id));
  if (undecided.length) await trx('final_labels').where({ project_id: req.projectId }).whereIn('item_id', undecided).delete();
  return decided;
}

/**
 * Items per transaction when refreshing outside a decision: each item's lock is held to commit, and
 * PostgreSQL's lock table is shared and small (max_locks_per_transaction × connections, 6,400 by
 * default), so a page of 5,000 items is refreshed in transactions of this many.
 */
export const REFRESH_ITEMS_PER_TRANSACTION = 250;

/** Refreshes in transactions of their own (validation pages, the backfill, tests: callers whose change is already committed). */
export async function refreshFinalLabelsNow(db: Knex, req: { tenantId: string; projectId: string; itemIds: string[] }): Promise<FinalLabelDecision[]> {
  const out: FinalLabelDecision[] = [];
  for (let i = 0; i < req.itemIds.length; i += REFRESH_ITEMS_PER_TRANSACTION) {
    const itemIds = req.itemIds.slice(i, i + REFRESH_ITEMS_PER_TRANSACTION);
    out.push(...(await db.transaction((trx) => refreshFinalLabels(trx, { ...req, itemIds }))));
  }
  return out;
}

/** The final labels the sources decide now, read-only (no lock, no write): what a refresh would write. */
export async function deriveFinalLabels(db: Db, projectId: string, itemIds: string[]): Promise<FinalLabelDecision[]> {
  if (!itemIds.length) return [];
  const { labels, sources } = await readFinalLabelSources(db, projectId, itemIds);
  return sources.map((s) => decideFinalLabel(s, labels)).filter((d): d is FinalLabelDecision => d !== null);
}

/** JSON with object keys sorted (jsonb hands keys back in its own order). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v ?? null);
}

/** The compared fields of a row, normalised (times to ISO ms, numbers from numeric strings). */
function comparable(r: Omit<ReturnType<typeof rowOf>, 'item_id' | 'tenant_id' | 'project_id' | 'decided_at' | 'inputs'> & { decided_at: Date | string; inputs: unknown }) {
  return canonical({
    status: r.status, label: r.label, value: r.value ?? null, source: r.source, method: r.method, decided_by: r.decided_by,
    decided_at: new Date(r.decided_at).toISOString(), conflict_id: r.conflict_id, annotation_id: r.annotation_id, engine_id: r.engine_id,
    confidence: r.confidence === null ? null : Number(r.confidence), inputs: r.inputs ?? [], details: r.details ?? {},
  });
}

/** Whether a stored row already says what a decision says. */
function storedAs(row: FinalLabelRow | undefined, d: FinalLabelDecision): boolean {
  return row !== undefined && comparable(row) === comparable(rowOf(row.tenant_id, row.project_id, d));
}

/**
 * Validation's check of a page: derives the page's final labels read-only and compares them with
 * the stored rows; only items whose row is missing, stale or superfluous (written around the API,
 * e.g. an SQL bulk load) are refreshed, under their locks. Where the decisions kept the table
 * current — the normal case — it takes no lock and writes nothing. Returns the page's decisions.
 */
export async function reconcileFinalLabels(db: Knex, req: { tenantId: string; projectId: string; itemIds: string[] }): Promise<FinalLabelDecision[]> {
  const [derived, stored] = await Promise.all([deriveFinalLabels(db, req.projectId, req.itemIds), readFinalLabels(db, req.projectId, req.itemIds)]);
  const derivedIds = new Set(derived.map((d) => d.itemId));
  const stale = [
    ...derived.filter((d) => !storedAs(stored.get(d.itemId), d)).map((d) => d.itemId),
    ...[...stored.keys()].filter((id) => !derivedIds.has(id)),
  ];
  if (!stale.length) return derived;
  const refreshed = new Map((await refreshFinalLabelsNow(db, { ...req, itemIds: stale })).map((d) => [d.itemId, d]));
  const staleIds = new Set(stale);
  return [...derived.filter((d) => !staleIds.has(d.itemId)), ...refreshed.values()];
}

/** An AI annotation row as the pre-annotation writers build it (`value` JSON text or null). */
export type AiAnnotationRow = Record<string, unknown> & { id: string; value: string | null; status: string };

/**
 * AI annotations and, for those that are accepted, their final labels, in ONE statement: a final
 * label is written only where nothing above AI decides the item (no row yet, or an AI row not
 * newer), which is what `decideFinalLabel` concludes — a human judgement, resolution or gold label
 * always has its row already, written by its own transaction. The unique (job, item) index makes a
 * retry a no-op. Returns how many annotations were inserted.
 */
export async function insertAiAnnotations(db: Db, rows: AiAnnotationRow[]): Promise<number> {
  if (!rows.length) return 0;
  const { rows: inserted } = (await runCtes(db, aiAnnotationCtes(rows), 'SELECT id FROM ai_rows')) as { rows: { id: string }[] };
  return inserted.length;
}

/**
 * insertAiAnnotations' writes as CTEs, for a caller that stores them with others in one statement
 * (src/db/statement.ts); `ai_rows` holds the ids of the annotations inserted.
 */
export function aiAnnotationCtes(rows: AiAnnotationRow[]): CteParts {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const finals = rows.map((r) => {
    const label = r.value === null ? null : valueCategory(JSON.parse(r.value));
    return { id: r.id, label, accepted: label !== null && AI_ACCEPTED.includes(r.status) };
  });
  const values = rows.map(() => `(${columns.map(() => '?').join(', ')})`).join(', ');
  return {
    ctes: [
      { name: 'ai_input', sql: 'SELECT * FROM jsonb_to_recordset(CAST(? AS jsonb)) AS x(id uuid, label text, accepted boolean)' },
      {
        name: 'ai_rows',
        sql: `INSERT INTO annotations (${columns.map((c) => `"${c}"`).join(', ')}) VALUES ${values}
       ON CONFLICT (job_id, item_id) WHERE job_id IS NOT NULL DO NOTHING
       RETURNING id, tenant_id, project_id, item_id, COALESCE(engine_id::text, annotator_id) AS engine_id, value, confidence, created_at`,
      },
      {
        name: 'ai_final',
        sql: `INSERT INTO final_labels (item_id, tenant_id, project_id, status, label, value, source, method, decided_by, decided_at,
                                 annotation_id, engine_id, confidence, inputs)
       SELECT DISTINCT ON (a.item_id) a.item_id, a.tenant_id, a.project_id, 'labelled', i.label, a.value, 'ai', 'ai', a.engine_id, a.created_at,
              a.id, a.engine_id, a.confidence, jsonb_build_array(jsonb_build_object('annotation_id', a.id, 'engine_id', a.engine_id, 'label', i.label))
         FROM ai_rows a JOIN ai_input i ON i.id = a.id
        WHERE i.accepted
        ORDER BY a.item_id, a.created_at DESC
       ON CONFLICT (item_id) DO UPDATE SET
         label = EXCLUDED.label, value = EXCLUDED.value, decided_by = EXCLUDED.decided_by, decided_at = EXCLUDED.decided_at,
         annotation_id = EXCLUDED.annotation_id, engine_id = EXCLUDED.engine_id, confidence = EXCLUDED.confidence,
         inputs = EXCLUDED.inputs, details = '{}', updated_at = now()
       WHERE final_labels.source = 'ai' AND final_labels.decided_at <= EXCLUDED.decided_at`,
      },
    ],
    bindings: [JSON.stringify(finals), ...rows.flatMap((r) => columns.map((c) => (r[c] === undefined ? null : (r[c] as Knex.RawBinding))))],
  };
}

/** The final labels of some items (for job results and exports), keyed by item id. */
export async function readFinalLabels(db: Db, projectId: string, itemIds: string[]): Promise<Map<string, FinalLabelRow>> {
  if (!itemIds.length) return new Map();
  const rows: FinalLabelRow[] = await db('final_labels').where({ project_id: projectId }).whereIn('item_id', itemIds);
  return new Map(rows.map((r) => [r.item_id, r]));
}

/**
 * Writes the final label of every item that has a source and no row: run once, after the
 * migration that creates the table (existing data), and safe to run again. Pages of 1,000 items.
 */
export async function backfillFinalLabels(db: Knex): Promise<number> {
  let written = 0;
  let afterSeq = 0;
  for (;;) {
    const page: { id: string; project_id: string; tenant_id: string; seq: string }[] = await db('items as i')
      .where('i.seq', '>', afterSeq)
      .whereNotExists(db('final_labels as f').whereRaw('f.item_id = i.id'))
      .where((w) => w.whereNotNull('i.gold_label').orWhereExists(db('annotations as a').whereRaw('a.item_id = i.id')))
      .orderBy('i.seq')
      .limit(1000)
      .select('i.id', 'i.project_id', 'i.tenant_id', 'i.seq');
    if (!page.length) return written;
    afterSeq = Number(page[page.length - 1].seq);
    const byProject = new Map<string, { tenantId: string; ids: string[] }>();
    for (const r of page) {
      const p = byProject.get(r.project_id) ?? { tenantId: r.tenant_id, ids: [] };
      p.ids.push(r.id);
      byProject.set(r.project_id, p);
    }
    for (const [projectId, p] of byProject) written += (await refreshFinalLabelsNow(db, { tenantId: p.tenantId, projectId, itemIds: p.ids })).length;
  }
}

/**
 * Final labels of items just imported with a gold label, in the import's transaction. New items
 * have no other source, and nobody else can see them before commit, so no lock or read is needed
 * (and an import of 100,000 items takes no 100,000 locks).
 */
export async function insertGoldFinalLabels(trx: Knex.Transaction, req: { tenantId: string; projectId: string; items: { itemId: string; gold: unknown }[] }): Promise<void> {
  const rows = req.items.flatMap((i) => {
    const label = valueCategory(i.gold);
    return label === null ? [] : [{ item_id: i.itemId, label, value: i.gold }];
  });
  if (!rows.length) return;
  await trx.raw(
    `INSERT INTO final_labels (item_id, tenant_id, project_id, status, label, value, source, method, decided_by, decided_at)
     SELECT r.item_id, ?, ?, 'labelled', r.label, r.value, 'gold', 'gold', 'gold', i.created_at
       FROM jsonb_to_recordset(?::jsonb) AS r(item_id uuid, label text, value jsonb)
       JOIN items i ON i.id = r.item_id
     ON CONFLICT (item_id) DO NOTHING`,
    [req.tenantId, req.projectId, JSON.stringify(rows)],
  );
}
