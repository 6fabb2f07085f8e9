import { EngineCallError, timeoutError } from '../errors';
import { HOST_NOT_ALLOWED_CODE, HOST_NOT_ALLOWED_MESSAGE } from './egress';
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
      // Redirects are never followed (see transport.ts): the answer is the 3xx itself.
      if (apiErr.status >= 300 && apiErr.status < 400) return new EngineCallError('error', `http ${apiErr.status}: redirects are not followed`, { status: apiErr.status });
      return new EngineCallError('error', `http ${apiErr.status}: ${message}`, { status: apiErr.status });
    }
  }
  if (err instanceof sdk.APIConnectionError) {
    // The cause (a socket error naming host and port) stays out of the message: see FailureClass.
    if (hostRefused(err)) return withCause(new EngineCallError('error', HOST_NOT_ALLOWED_MESSAGE, { failureClass: 'host_not_allowed' }), err);
    return withCause(new EngineCallError('error', 'could not connect to the engine', { failureClass: 'connection_failed' }), err);
  }
  return withCause(new EngineCallError('error', 'unexpected provider failure', { failureClass: 'provider_error' }), err);
}

/** Keeps the raw error as `cause`, for the operator's log only (attempt.ts logs it; responses never carry it). */
function withCause(e: EngineCallError, cause: unknown): EngineCallError {
  Object.defineProperty(e, 'cause', { value: cause, enumerable: false });
  return e;
}

/** Whether ENGINE_ALLOWED_HOSTS refused the connection (the transport's error, anywhere in the cause chain). */
function hostRefused(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === HOST_NOT_ALLOWED_CODE) return true;
  }
  return false;
}
