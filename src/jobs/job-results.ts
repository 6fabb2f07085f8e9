import type { Knex } from 'knex';

/** One page of a pre-annotation job's results (its annotations), in the job's item order. */
export async function preAnnotationResults(db: Knex, jobId: string, page: number, pageSize: number, status?: string) {
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
  return { total: Number(count), rows };
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
}
