import type { FinalLabelRow } from '../../db/models';
import { iso } from '../../formats';

/** A `final_labels` row as the API shows it (FinalLabelSchema); null for an item nothing decided. */
export function presentFinalLabel(f: FinalLabelRow | null | undefined) {
  if (!f) return null;
  return {
    status: f.status,
    value: f.value ?? null,
    source: f.source,
    method: f.method,
    decided_by: f.decided_by,
    decided_at: iso(f.decided_at),
    conflict_id: f.conflict_id,
    engine_id: f.engine_id,
    confidence: f.confidence === null ? null : Number(f.confidence),
    inputs: f.inputs ?? [],
    details: f.details ?? {},
  };
}
