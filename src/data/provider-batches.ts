import type { Knex } from 'knex';
import { ProviderBatch, type ProviderBatchRow } from '../db/models';
import { iso } from '../formats';

/** A batch-mode job's provider batches, newest first (bounded: a progress view, not an export). */
export async function providerBatchesOf(db: Knex, tenantId: string, jobId: string, limit = 100): Promise<ProviderBatchRow[]> {
  return ProviderBatch.query(db).where({ tenant_id: tenantId, job_id: jobId }).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'from_seq', order: 'desc' }]).limit(limit);
}

/** A provider batch as progress shows it (the progress route, the job row and its job.progress events). */
export function providerBatchSummary(row: ProviderBatchRow) {
  return {
    id: row.provider_batch_id,
    provider: row.provider,
    status: row.status,
    request_counts: row.request_counts ?? {},
    requests: row.request_count,
    attempt: row.attempt,
    created_at: iso(row.created_at) as string,
    expires_at: iso(row.expires_at),
    collected: row.collected_at !== null && row.collected_at !== undefined,
  };
}
