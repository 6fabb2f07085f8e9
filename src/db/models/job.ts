import type { JobStatus } from '../../annotation/job-progress';
import { AppModel, TenantScopedModel, type Row } from './base';

export class Job extends TenantScopedModel {
  static override tableName = 'jobs';
  static override jsonAttributes = ['params', 'progress', 'result'];
  id!: string;
  project_id!: string;
  type!: string;
  status!: JobStatus;
  workflow_id!: string;
  run_id!: string | null;
  params!: Record<string, unknown>;
  progress!: Record<string, unknown>;
  result!: Record<string, unknown> | null;
  error!: string | null;
  /** LLM spend, numeric(20,10) as a string; equals the sum of the job's llm_usage rows. */
  cost_usd!: string;
  created_by!: string;
  created_at!: Date;
  started_at!: Date | null;
  updated_at!: Date;
  completed_at!: Date | null;
}

/** A job's explicit item list, in order (seq 0..n-1). */
export class JobItem extends AppModel {
  static override tableName = 'job_items';
  static override idColumn = ['job_id', 'seq'];
  job_id!: string;
  seq!: number;
  item_id!: string;
}

export type JobRow = Row<Job>;
