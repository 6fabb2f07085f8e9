import { TenantScopedModel, type Row } from './base';

export class QualityReport extends TenantScopedModel {
  static override tableName = 'quality_reports';
  static override jsonAttributes = ['scope', 'report', 'details'];
  id!: string;
  project_id!: string;
  job_id!: string;
  computed_at!: Date;
  scope!: Record<string, unknown>;
  report!: Record<string, unknown>;
  details!: Record<string, unknown>;
  passed!: boolean;
}

export class QualityAlert extends TenantScopedModel {
  static override tableName = 'quality_alerts';
  id!: string;
  project_id!: string;
  report_id!: string;
  metric!: string;
  severity!: 'alert' | 'warning';
  value!: number;
  threshold!: number;
  /** bigint: pg returns it as a string. */
  event_id!: string | null;
  created_at!: Date;
}

export class Inconsistency extends TenantScopedModel {
  static override tableName = 'inconsistencies';
  static override jsonAttributes = ['item_ids', 'details'];
  id!: string;
  project_id!: string;
  job_id!: string;
  report_id!: string | null;
  kind!: 'near_duplicate' | 'annotator_drift' | 'ai_human_disagreement';
  item_ids!: string[];
  annotator_id!: string | null;
  label!: string | null;
  details!: Record<string, unknown>;
  severity!: 'high' | 'medium' | 'low';
  dedupe_key!: string;
  created_at!: Date;
}

export type QualityReportRow = Row<QualityReport>;
export type QualityAlertRow = Row<QualityAlert>;
export type InconsistencyRecord = Row<Inconsistency>;
