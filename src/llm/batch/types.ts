import type { EngineRecord } from '../../db/models';
import type { ChatMessage } from '../prompt';
import type { LabelSchema, TokenUsage } from '../types';

/**
 * A provider's batch API (OpenAI Batch, Anthropic Message Batches) as pre-annotation uses it:
 * submit a file of requests, look at it until it ends, read what it answered. Every call is
 * short; the wait in between is the workflow's (durable timers), never an open call.
 */
export interface ProviderBatchAdapter {
  /** The provider's documented limits of one batch. */
  readonly limits: BatchLimits;
  /** One request as the provider takes it, serialized (its bytes count against `limits.maxBytes`). */
  requestLine(engine: EngineRecord, labelSchema: LabelSchema, customId: string, messages: ChatMessage[]): string;
  /**
   * Creates the batch of these request lines. `key` is deterministic per (job, chunk, attempt):
   * it goes out as the `Idempotency-Key` header and (OpenAI) as metadata, so `find` can recover a
   * batch created by an attempt that died before storing its id.
   */
  submit(engine: EngineRecord, key: string, lines: string[]): Promise<BatchSnapshot>;
  /** The batch an earlier attempt created with this key, if the provider can say (else null). */
  find(engine: EngineRecord, key: string): Promise<BatchSnapshot | null>;
  retrieve(engine: EngineRecord, providerBatchId: string): Promise<BatchSnapshot>;
  cancel(engine: EngineRecord, providerBatchId: string): Promise<BatchSnapshot>;
  /** Every result the ended batch has (successes and per-request errors); requests it never answered are absent. */
  results(engine: EngineRecord, batch: BatchSnapshot): AsyncIterable<BatchResult>;
}

export interface BatchLimits {
  maxRequests: number;
  maxBytes: number;
}

/** What the provider says of a batch, in its own status words plus whether it has ended. */
export interface BatchSnapshot {
  providerBatchId: string;
  inputFileId?: string | null;
  outputFileId?: string | null;
  errorFileId?: string | null;
  /** The provider's status (OpenAI: validating, in_progress, finalizing, completed, failed, expired, cancelling, cancelled; Anthropic: in_progress, canceling, ended). */
  status: string;
  /** No more results will come: collect now. */
  ended: boolean;
  counts: BatchRequestCounts;
  createdAt: string | null;
  expiresAt: string | null;
  endedAt: string | null;
  /** Why a batch failed as a whole (OpenAI validation errors). */
  error?: string | null;
}

export interface BatchRequestCounts {
  total: number;
  succeeded: number;
  errored: number;
  processing: number;
  expired: number;
  cancelled: number;
}

export type BatchResult =
  | { customId: string; ok: true; text: string; usage: TokenUsage }
  /** `invalid_output`: answered, but with nothing to parse (its usage is still billed). */
  | { customId: string; ok: false; outcome: 'error' | 'invalid_output' | 'expired' | 'cancelled'; reason: string; usage?: TokenUsage };

export type BatchProviders = Partial<Record<'openai' | 'anthropic', ProviderBatchAdapter>>;
