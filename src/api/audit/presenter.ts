import type { AuditRow } from '../../db/models';
import { iso } from '../../formats';

/** An audit_log row as the API shows it (AuditEntryResponse). */
export function presentAuditEntry(a: AuditRow) {
  return {
    id: String(a.id),
    project_id: a.project_id,
    actor: a.actor,
    action: a.action,
    entity: a.entity_type,
    entity_id: a.entity_id,
    details: a.details ?? {},
    created_at: iso(a.created_at),
  };
}
