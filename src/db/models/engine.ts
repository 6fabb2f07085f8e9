import { AppModel, type Row } from './base';

/** An LLM engine. Built-ins have `tenant_id` NULL; prices are exact numeric strings. */
export class Engine extends AppModel {
  static override tableName = 'engines';
  static override jsonAttributes = ['params', 'rate_limit', 'fallback_engine_ids'];
  id!: string;
  tenant_id!: string | null;
  name!: string;
  provider!: 'openai' | 'anthropic' | 'local';
  model!: string;
  base_url!: string | null;
  /** Name of the environment variable holding the API key; the key itself is never stored. */
  api_key_env!: string | null;
  params!: Record<string, unknown>;
  price_input_per_1k!: string;
  price_output_per_1k!: string;
  /** Whether the provider's batch API may be used (never for `local`). */
  batch!: boolean;
  /** Batch prices; null: half the sync price (see batchPrices in src/llm/cost.ts). */
  batch_price_input_per_1k!: string | null;
  batch_price_output_per_1k!: string | null;
  rate_limit!: { rpm?: number; tpm?: number } | null;
  fallback_engine_ids!: string[];
  enabled!: boolean;
  created_at!: Date;
  updated_at!: Date;
}

export type EngineRow = Row<Engine>;

/**
 * An engine as the switcher and its callers use it: the row without its timestamps (what
 * `loadVisibleEngines` selects and `engineJsonSql` builds, src/llm/engine-store.ts).
 */
export type EngineRecord = Omit<EngineRow, 'created_at' | 'updated_at'>;
