import type { Knex } from 'knex';
import { ProviderBatch, type ProviderBatchRow } from '../db/models';

/** A batch-mode job's provider batches, newest first (bounded: a progress view, not an export). */
export async function providerBatchesOf(db: Knex, tenantId: string, jobId: string, limit = 100): Promise<ProviderBatchRow[]> {
  return ProviderBatch.query(db).where({ tenant_id: tenantId, job_id: jobId }).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'from_seq', order: 'desc' }]).limit(limit);
}
