import type { EngineRecord } from '../../db/models';
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
  /**
   * The call's ledger row (llm_usage.id), sent as `X-Client-Request-Id: anno-usage-<id>` so a
   * provider's request log can be reconciled with the ledger row for row.
   */
  usageId?: string;
}

/** The request header carrying a call's ledger row id (OpenAI logs it as the client request id). */
export const USAGE_ID_HEADER = 'X-Client-Request-Id';
export function usageIdHeaders(usageId: string | undefined): Record<string, string> | undefined {
  return usageId ? { [USAGE_ID_HEADER]: `anno-usage-${usageId}` } : undefined;
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
