import type { AnnotationValue } from '../../llm/types';
import { TenantScopedModel, type Row } from './base';

export class Annotation extends TenantScopedModel {
  static override tableName = 'annotations';
  static override jsonAttributes = ['value'];
  id!: string;
  project_id!: string;
  item_id!: string;
  job_id!: string | null;
  source!: 'ai' | 'human';
  annotator_id!: string;
  engine_id!: string | null;
  value!: AnnotationValue | null;
  confidence!: number | null;
  status!: string;
  error!: string | null;
  task_id!: string | null;
  lead_time_ms!: number | null;
  created_at!: Date;
  updated_at!: Date;
}

export type AnnotationRow = Row<Annotation>;
