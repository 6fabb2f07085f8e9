import { TenantScopedModel, type Row } from './base';

/**
 * The ledger: one row per provider call (or cache hit), written ahead of the call
 * (src/llm/ledger.ts). Money is numeric as exact strings.
 */
export class LlmUsage extends TenantScopedModel {
  static override tableName = 'llm_usage';
  /** bigint: pg returns it as a string. */
  id!: string;
  project_id!: string | null;
  job_id!: string | null;
  engine_id!: string | null;
  model!: string;
  prompt_tokens!: number;
  completion_tokens!: number;
  cached_tokens!: number;
  cost_usd!: string;
  cost_upper_usd!: string | null;
  latency_ms!: number;
  state!: 'in_flight' | 'settled';
  outcome!: string;
  error!: string | null;
  cached!: boolean;
  call_key!: string | null;
  deadline_at!: Date | null;
  settled_at!: Date | null;
  created_at!: Date;
}

export class LlmCacheEntry extends TenantScopedModel {
  static override tableName = 'llm_cache';
  static override idColumn = 'key';
  key!: string;
  engine_id!: string;
  model!: string;
  response_text!: string;
  prompt_tokens!: number;
  completion_tokens!: number;
  created_at!: Date;
  expires_at!: Date;
}

export type LlmUsageRow = Row<LlmUsage>;
export type LlmCacheRow = Row<LlmCacheEntry>;
