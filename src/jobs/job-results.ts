import type { Knex } from 'knex';
import { readFinalLabels } from '../data/final-labels';
import type { FinalLabelRow } from '../db/models';

/** One page of a pre-annotation job's results (its annotations, with each item's final label), in the job's item order. */
export async function preAnnotationResults(db: Knex, job: { id: string; project_id: string }, page: number, pageSize: number, status?: string) {
  const jobId = job.id;
  const base = db('annotations as a').join('job_items as ji', function () {
    this.on('ji.job_id', 'a.job_id').andOn('ji.item_id', 'a.item_id');
  }).where('a.job_id', jobId);
  if (status) base.andWhere('a.status', status);
  const [{ count }] = await base.clone().count({ count: '*' });
  const rows: PreAnnotationResultRow[] = await base
    .clone()
    .join('items as i', 'i.id', 'a.item_id')
    .orderBy('ji.seq')
    .offset((page - 1) * pageSize)
    .limit(pageSize)
    .select('a.item_id', 'i.external_id', 'a.value', 'a.confidence', 'a.engine_id', 'a.status', 'a.error', 'a.created_at');
  // Each item's final label beside its AI annotation: the AI's own, or what overrode it.
  const finals = await readFinalLabels(db, job.project_id, rows.map((r) => r.item_id));
  return { total: Number(count), rows: rows.map((r) => ({ ...r, final_label: finals.get(r.item_id) ?? null })) };
}

export interface PreAnnotationResultRow {
  item_id: string;
  external_id: string | null;
  value: unknown;
  confidence: number | null;
  engine_id: string | null;
  status: string;
  error: string | null;
  created_at: Date | string | null;
  final_label?: FinalLabelRow | null;
}
