import type { Knex } from 'knex';
import { AuditEntry, type AuditRow } from '../db/models';

/** An audit entry as a write path states it; the id and the time are the table's. */
export type AuditInput = Omit<AuditRow, 'id' | 'created_at' | 'project_id'> & { project_id?: string | null };

/**
 * Appends one entry to `audit_log`, in the caller's transaction so the entry commits (or not)
 * with the change it records. `details` is stored as jsonb by the model.
 */
export async function recordAudit(trx: Knex.Transaction, entry: AuditInput): Promise<void> {
  await AuditEntry.query(trx).insert(entry);
}
