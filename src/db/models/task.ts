import type { AnnotationValue } from '../../llm/types';
import { TenantScopedModel, type Row } from './base';

/** A human task: annotate or review items, or settle a conflict (`expert`). */
export class Task extends TenantScopedModel {
  static override tableName = 'tasks';
  static override jsonAttributes = ['item_ids', 'assignees', 'result'];
  id!: string;
  project_id!: string;
  kind!: 'annotate' | 'review' | 'expert';
  item_ids!: string[];
  item_count!: number;
  assignee_id!: string | null;
  status!: 'open' | 'completed' | 'escalated' | 'cancelled';
  strategy!: string | null;
  due_at!: Date | null;
  due_in_seconds!: number | null;
  attempts!: number;
  assignees!: string[];
  workflow_id!: string;
  source!: string;
  source_id!: string | null;
  conflict_id!: string | null;
  result!: Record<string, unknown> | null;
  created_by!: string;
  assigned_at!: Date | null;
  claimed_at!: Date | null;
  escalated_at!: Date | null;
  completed_at!: Date | null;
  created_at!: Date;
  updated_at!: Date;
}

/** Annotators who disagree on an item, until a rule or an expert settles it. */
export class Conflict extends TenantScopedModel {
  static override tableName = 'conflicts';
  static override jsonAttributes = ['resolved_value', 'inputs'];
  id!: string;
  project_id!: string;
  item_id!: string;
  status!: 'open' | 'auto_resolved' | 'resolved';
  method!: string | null;
  resolved_value!: AnnotationValue | null;
  resolved_by!: string | null;
  inputs!: unknown[];
  reason!: string | null;
  task_id!: string | null;
  workflow_id!: string | null;
  /** When its conflictResolution workflow was known to be started (null: the sweep will start it). */
  workflow_started_at!: Date | null;
  detected_by!: string;
  resolved_at!: Date | null;
  created_at!: Date;
  updated_at!: Date;
}

export type TaskRow = Row<Task>;
export type ConflictRow = Row<Conflict>;
