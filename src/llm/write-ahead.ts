/**
 * Pure rules of the write-ahead ledger (src/llm/ledger.ts writes the rows): what a call may cost
 * at most, when nobody will settle its row any more, and how failed ledger writes back off.
 */
import { computeCostUsd, type EnginePrices } from './cost';
import { backoffMs } from './retry-policy';

/** Answer tokens assumed when the engine sets no max_tokens (the Anthropic adapter's default too). */
export const DEFAULT_MAX_ANSWER_TOKENS = 256;
/** Chat framing tokens per message and per request (OpenAI's accounting), on top of the text. */
const TOKENS_PER_MESSAGE = 4;
const TOKENS_PER_REQUEST = 3;

export interface CallShape {
  /** Characters of the prompt's messages. */
  promptChars: number;
  messages: number;
}

/** The most answer tokens the request allows: the engine's max_tokens (or max_completion_tokens). */
export function maxAnswerTokens(params: Record<string, unknown> | null | undefined): number {
  for (const key of ['max_tokens', 'max_completion_tokens']) {
    const v = params?.[key];
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) return Math.floor(v);
  }
  return DEFAULT_MAX_ANSWER_TOKENS;
}

/**
 * Prompt tokens estimated like the rate limiter (4 characters a token) plus chat framing. An
 * estimate, not a proof: the settled row replaces it with the provider's count.
 */
export function estimatePromptTokens(call: CallShape): number {
  return Math.ceil(Math.max(0, call.promptChars) / 4) + Math.max(0, call.messages) * TOKENS_PER_MESSAGE + TOKENS_PER_REQUEST;
}

/**
 * Upper-bound cost of a call before it is made: the prompt estimate and the request's max answer
 * tokens at the engine's prices, every prompt token at the full (uncached) input price.
 */
export function upperBoundCostUsd(call: CallShape, engine: EnginePrices & { provider?: string }): string {
  if (engine.provider === 'local') return '0';
  const usage = { promptTokens: estimatePromptTokens(call), completionTokens: maxAnswerTokens(engine.params ?? null), cachedTokens: 0 };
  return computeCostUsd(usage, engine);
}

/** How long after the call starts its row may be settled by the sweeper: its timeout plus a margin. */
export function settleDeadlineMs(callTimeoutMs: number, marginMs: number): number {
  return Math.max(0, callTimeoutMs) + Math.max(0, marginMs);
}

/** Backoff before retry `attempt` (1-based) of a failed ledger write: 50 ms doubling, at most `capMs`. */
export function ledgerRetryDelayMs(attempt: number, capMs = 2000): number {
  return backoffMs(attempt, { baseDelayMs: 50, maxBackoffMs: capMs }, 1); // the engine retries' schedule, without jitter
}

/**
 * A database error that trying again cannot cure: SQLSTATE classes 22 (data), 23 (integrity),
 * 42 (syntax, access), 2B/2D/3F (dependent objects, transactions, schema). Anything else — a
 * refused or dropped connection, an admin shutdown (57P), a pool timeout — may pass.
 */
export function isPermanentDbError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|42|2B|2D|3F)[0-9A-Z]{3}$/.test(code);
}
