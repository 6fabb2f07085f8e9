import { Model } from 'objection';

/**
 * Objection models: one per table, bound to a knex instance with `bindModels(db)` (or
 * `Model.bindKnex` per query in tests that use several databases). Columns are snake_case,
 * as in the API, so rows and JSON shapes line up without a mapping layer.
 */
abstract class TenantScopedModel extends Model {
  tenant_id!: string;
}

export class Tenant extends Model {
  static override tableName = 'tenants';
  id!: string;
  name!: string | null;
  created_at!: Date;
}

export class Engine extends Model {
  static override tableName = 'engines';
  static override jsonAttributes = ['params', 'rate_limit', 'fallback_engine_ids'];
  id!: string;
  tenant_id!: string | null;
  name!: string;
  provider!: 'openai' | 'anthropic' | 'local';
  model!: string;
  base_url!: string | null;
  api_key_env!: string | null;
  params!: Record<string, unknown>;
  price_input_per_1k!: string;
  price_output_per_1k!: string;
  rate_limit!: { rpm?: number; tpm?: number } | null;
  fallback_engine_ids!: string[];
  enabled!: boolean;
  created_at!: Date;
  updated_at!: Date;
}

export class Project extends TenantScopedModel {
  static override tableName = 'projects';
  static override jsonAttributes = ['label_schema', 'routing'];
  id!: string;
  name!: string;
  label_schema!: { type: 'single_label' | 'multi_label'; labels: string[] };
  guidelines!: string | null;
  routing!: Record<string, unknown>;
  created_by!: string;
  created_at!: Date;
  updated_at!: Date;
}

export class ProjectMember extends TenantScopedModel {
  static override tableName = 'project_members';
  static override idColumn = ['project_id', 'user_id'];
  project_id!: string;
  user_id!: string;
  role!: string;
  created_at!: Date;
}

export class Item extends TenantScopedModel {
  static override tableName = 'items';
  static override jsonAttributes = ['data', 'gold_label'];
  id!: string;
  project_id!: string;
  seq!: string;
  external_id!: string | null;
  data!: { text?: string; [k: string]: unknown };
  gold_label!: unknown;
  created_at!: Date;
}

export class Job extends TenantScopedModel {
  static override tableName = 'jobs';
  static override jsonAttributes = ['params', 'progress', 'result'];
  id!: string;
  project_id!: string;
  type!: string;
  status!: string;
  workflow_id!: string;
  run_id!: string | null;
  params!: Record<string, unknown>;
  progress!: Record<string, unknown>;
  result!: Record<string, unknown> | null;
  error!: string | null;
  created_by!: string;
  created_at!: Date;
  started_at!: Date | null;
  updated_at!: Date;
  completed_at!: Date | null;
}

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
  value!: unknown;
  confidence!: number | null;
  status!: string;
  error!: string | null;
  task_id!: string | null;
  lead_time_ms!: number | null;
  created_at!: Date;
  updated_at!: Date;
}

export class EventRecord extends TenantScopedModel {
  static override tableName = 'events';
  static override jsonAttributes = ['payload'];
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

export class LlmUsage extends TenantScopedModel {
  static override tableName = 'llm_usage';
  id!: string;
  project_id!: string | null;
  job_id!: string | null;
  engine_id!: string | null;
  model!: string;
  prompt_tokens!: number;
  completion_tokens!: number;
  cached_tokens!: number;
  cost_usd!: string;
  latency_ms!: number;
  outcome!: string;
  error!: string | null;
  cached!: boolean;
  created_at!: Date;
}
