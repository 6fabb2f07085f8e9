import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { AnnotationValue, LabelledExample } from './types';
import { fn } from 'objection';
import { FewShotExample } from '../db/models';
import { affectedRows } from '../db/results';

/**
 * The project's few-shot pool (table `few_shot_pool`): examples people accepted or corrected
 * through suggestion feedback. One entry per normalized text (the latest judgement wins), the
 * newest `POOL_LIMIT` kept. The project context puts them ahead of the gold examples in every
 * later prompt of the project (live suggestions and pre-annotation alike).
 */

export const POOL_LIMIT = 50;
/** Longer texts are not worth their prompt tokens as examples. */
export const MAX_POOL_TEXT_CHARS = 4000;

/** Lower-cased, Unicode-normalized, whitespace collapsed: "  Great  Product!" ≡ "great product!". */
export function normalizeText(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

export function textHash(text: string): string {
  return crypto.createHash('sha256').update(normalizeText(text)).digest('hex');
}

export interface PoolEntry {
  tenantId: string;
  projectId: string;
  text: string;
  value: AnnotationValue;
  source: 'accepted' | 'corrected';
  suggestionId?: string;
}

/** Adds (or refreshes) an example and trims the pool to the newest `limit`. Returns whether it was kept. */
export async function addToPool(db: Knex | Knex.Transaction, entry: PoolEntry, limit = POOL_LIMIT): Promise<boolean> {
  if (!entry.text.trim() || entry.text.length > MAX_POOL_TEXT_CHARS) return false;
  const example = { text: entry.text, value: entry.value, source: entry.source, suggestion_id: entry.suggestionId ?? null };
  await FewShotExample.query(db)
    .insert({ tenant_id: entry.tenantId, project_id: entry.projectId, text_hash: textHash(entry.text), ...example })
    .onConflict(['project_id', 'text_hash'])
    .merge({ ...example, updated_at: fn.now() });
  await FewShotExample.query(db)
    .where('project_id', entry.projectId)
    .whereNotIn(
      'id',
      FewShotExample.query(db).select('id').where('project_id', entry.projectId).orderBy([{ column: 'updated_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(limit),
    )
    .delete();
  return true;
}

/** A rejected answer: drop a pool entry that teaches exactly that value for that text. */
export async function removeFromPool(db: Knex | Knex.Transaction, projectId: string, text: string, value: AnnotationValue): Promise<number> {
  return affectedRows(
    await FewShotExample.query(db)
      .where({ project_id: projectId, text_hash: textHash(text) })
      .whereRaw('value = ?::jsonb', [JSON.stringify(value)])
      .delete(),
  );
}

/** The pool, newest first. */
export async function loadPool(db: Knex, projectId: string, limit = POOL_LIMIT): Promise<LabelledExample[]> {
  const rows = await FewShotExample.query(db)
    .where('project_id', projectId)
    .orderBy([{ column: 'updated_at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .limit(limit)
    .select('text', 'value');
  return rows.map((r) => ({ text: r.text, value: r.value }));
}

/** Pool examples first, then gold ones whose text the pool does not already teach; at most `max`. */
export function mergeExamples(pool: LabelledExample[], gold: LabelledExample[], max: number): LabelledExample[] {
  const seen = new Set<string>();
  const out: LabelledExample[] = [];
  for (const e of [...pool, ...gold]) {
    if (out.length >= max) break;
    const key = normalizeText(e.text);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out;
}
