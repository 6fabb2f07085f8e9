import { providerBatchSummary } from '../../data/provider-batches';
import type { PreAnnotationResultRow } from '../../jobs/job-results';
import { iso } from '../../formats';
import { presentFinalLabel } from '../final-labels/presenter';

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
    final_label: presentFinalLabel(r.final_label),
  };
}


/** A provider batch of a batch-mode job as progress shows it (one shape with the job row's). */
export const presentProviderBatch = providerBatchSummary;
