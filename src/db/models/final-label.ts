import type { AnnotationValue } from '../../llm/types';
import { TenantScopedModel, type Row } from './base';

/** The final label of an item with its provenance (see migrations/20261202000400_final_labels.ts). */
export class FinalLabelRecord extends TenantScopedModel {
  static override tableName = 'final_labels';
  static override idColumn = 'item_id';
  static override jsonAttributes = ['value', 'inputs', 'details'];
  item_id!: string;
  project_id!: string;
  status!: 'labelled' | 'unresolved';
  label!: string | null;
  value!: AnnotationValue | null;
  source!: 'expert' | 'gold' | 'auto' | 'consensus' | 'ai';
  method!: string;
  decided_by!: string;
  decided_at!: Date;
  conflict_id!: string | null;
  annotation_id!: string | null;
  engine_id!: string | null;
  confidence!: number | null;
  inputs!: { annotation_id: string; annotator_id?: string; engine_id?: string; label: string | null }[];
  details!: Record<string, unknown>;
  updated_at!: Date;
}

export type FinalLabelRow = Row<FinalLabelRecord>;
