import type { ProviderBatchRow } from '../../db/models';
import type { PreAnnotationResultRow } from '../../jobs/job-results';
import { iso } from '../../formats';

/** A pre-annotation result as the API shows it. */
export function presentPreAnnotationResult(r: PreAnnotationResultRow) {
  return {
    item_id: r.item_id,
    external_id: r.external_id,
    value: r.value,
    confidence: r.confidence,
    engine_id: r.engine_id,
    status: r.status,
    ...(r.error ? { error: r.error } : {}),
    created_at: iso(r.created_at),
  };
}

/** A provider batch of a batch-mode job as progress shows it. */
export function presentProviderBatch(row: ProviderBatchRow) {
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
