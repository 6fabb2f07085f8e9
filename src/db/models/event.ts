import { TenantScopedModel, type Row } from './base';

/** The outbox. Append only through `append_event()` (src/events/outbox.ts), never by insert. */
export class EventRecord extends TenantScopedModel {
  static override tableName = 'events';
  static override jsonAttributes = ['payload'];
  /** bigint: pg returns it as a string. */
  id!: string;
  project_id!: string;
  type!: string;
  payload!: Record<string, unknown>;
  dedupe_key!: string | null;
  created_at!: Date;
}

export class AuditEntry extends TenantScopedModel {
  static override tableName = 'audit_log';
  static override jsonAttributes = ['details'];
  id!: string;
  project_id!: string | null;
  actor!: string;
  action!: string;
  entity_type!: string;
  entity_id!: string;
  details!: Record<string, unknown>;
  created_at!: Date;
}

export type EventRow = Row<EventRecord>;
export type AuditRow = Row<AuditEntry>;
