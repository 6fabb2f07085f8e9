import { EngineCallError, timeoutError } from '../errors';
import { retryAfterSeconds } from './retry-after';

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * The error classes of an official provider SDK. The OpenAI and Anthropic SDKs share this
 * hierarchy, so one classifier serves both; `message` reads the provider's error body.
 */
export interface SdkErrors {
  APIConnectionTimeoutError: ErrorClass;
  APIUserAbortError: ErrorClass;
  APIConnectionError: ErrorClass;
  APIError: ErrorClass;
  message(err: Error & { error?: unknown }): string | undefined;
}

/** An SDK error as an EngineCallError carrying the ledger outcome (and Retry-After for 429s). */
export function classifySdkError(sdk: SdkErrors, err: unknown, timeoutMs: number): EngineCallError {
  if (err instanceof EngineCallError) return err;
  if (err instanceof sdk.APIConnectionTimeoutError) return timeoutError(timeoutMs);
  if (err instanceof sdk.APIUserAbortError) return new EngineCallError('error', 'aborted');
  if (err instanceof sdk.APIError) {
    const apiErr = err as Error & { status?: unknown; headers?: unknown; error?: unknown };
    if (typeof apiErr.status === 'number') {
      const raw = sdk.message(apiErr) ?? apiErr.message;
      const message = raw.length > 300 ? `${raw.slice(0, 300)}…` : raw;
      if (apiErr.status === 429) {
        const headers = apiErr.headers as Headers | undefined;
        const retryAfter = headers ? retryAfterSeconds((n) => headers.get(n)) : undefined;
        return new EngineCallError('rate_limited', `http 429${retryAfter !== undefined ? ` (retry after ${retryAfter}s)` : ''}: ${message}`, {
          status: 429,
          retryAfterSeconds: retryAfter,
        });
      }
      return new EngineCallError('error', `http ${apiErr.status}: ${message}`, { status: apiErr.status });
    }
  }
  if (err instanceof sdk.APIConnectionError) {
    const cause = (err as { cause?: unknown }).cause;
    return new EngineCallError('error', `connection error${cause instanceof Error ? `: ${cause.message}` : ''}`);
  }
  return new EngineCallError('error', err instanceof Error ? err.message : String(err));
}
