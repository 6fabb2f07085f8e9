import { TenantScopedModel, type Row } from './base';

/**
 * A provider batch (OpenAI Batch, Anthropic Message Batch) a pre-annotation job submitted for a
 * chunk of its items; see migrations/20261202164800_provider_batches.ts.
 */
export class ProviderBatch extends TenantScopedModel {
  static override tableName = 'provider_batches';
  static override jsonAttributes = ['request_counts'];
  id!: string;
  job_id!: string;
  engine_id!: string;
  provider!: 'openai' | 'anthropic';
  from_seq!: number;
  to_seq!: number;
  attempt!: number;
  batch_key!: string;
  provider_batch_id!: string | null;
  input_file_id!: string | null;
  status!: string;
  request_count!: number;
  request_counts!: Record<string, number>;
  created_at!: Date;
  expires_at!: Date | null;
  ended_at!: Date | null;
  collected_at!: Date | null;
  updated_at!: Date;
}

export type ProviderBatchRow = Row<ProviderBatch>;
