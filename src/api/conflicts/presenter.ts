import type { ConflictRow } from '../../db/models';
import { iso } from '../../formats';

export function presentConflict(c: ConflictRow) {
  return {
    conflict_id: c.id,
    project_id: c.project_id,
    item_id: c.item_id,
    status: c.status,
    method: c.method,
    resolved_value: c.resolved_value,
    resolved_by: c.resolved_by,
    reason: c.reason,
    inputs: c.inputs as { annotator_id: string; value: unknown }[],
    task_id: c.task_id,
    workflow_id: c.workflow_id,
    created_at: iso(c.created_at)!,
    resolved_at: iso(c.resolved_at),
  };
}
