import type { AnnotationValue } from '../../llm/types';
import { TenantScopedModel, type Row } from './base';

export class Suggestion extends TenantScopedModel {
  static override tableName = 'suggestions';
  static override jsonAttributes = ['value', 'failed_attempts', 'feedback_value'];
  id!: string;
  project_id!: string;
  item_id!: string | null;
  text!: string;
  engine_id!: string | null;
  value!: AnnotationValue;
  confidence!: number;
  cached!: boolean;
  latency_ms!: number;
  failed_attempts!: { engine_id: string; reason: string }[];
  created_by!: string;
  created_at!: Date;
  feedback_action!: 'accept' | 'reject' | 'modify' | null;
  feedback_value!: AnnotationValue | null;
  feedback_by!: string | null;
  feedback_at!: Date | null;
}

/** Accepted or corrected suggestions, the few-shot examples of a project's prompts. */
export class FewShotExample extends TenantScopedModel {
  static override tableName = 'few_shot_pool';
  static override jsonAttributes = ['value'];
  /** bigint: pg returns it as a string. */
  id!: string;
  project_id!: string;
  text_hash!: string;
  text!: string;
  value!: AnnotationValue;
  source!: 'accepted' | 'corrected';
  suggestion_id!: string | null;
  updated_at!: Date;
}

export type SuggestionRow = Row<Suggestion>;
export type FewShotExampleRow = Row<FewShotExample>;
