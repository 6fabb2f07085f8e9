import type { EngineRecord } from '../engine-store';
import type { ChatMessage } from '../prompt';
import type { ProjectContext, TokenUsage } from '../types';

/** One call to one engine. The switcher owns timeouts: `signal` aborts when time is up. */
export interface ProviderRequest {
  engine: EngineRecord;
  project: ProjectContext;
  item: { id?: string; text: string };
  messages: ChatMessage[];
  timeoutMs: number;
  signal: AbortSignal;
}

/** The model's raw answer; the switcher parses and validates it against the label schema. */
export interface ProviderResponse {
  text: string;
  usage: TokenUsage;
}

/**
 * A provider adapter. Failures are thrown as EngineCallError (see ../errors) with the outcome
 * the ledger records: 'timeout', 'rate_limited' (with Retry-After), 'error', 'invalid_output'.
 */
export interface Provider {
  call(request: ProviderRequest): Promise<ProviderResponse>;
}

export const ZERO_USAGE: TokenUsage = Object.freeze({ promptTokens: 0, completionTokens: 0, cachedTokens: 0 });
