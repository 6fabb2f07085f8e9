/**
 * Which failed engine calls are worth repeating for the same item on the same engine, and how
 * long to wait before doing so. Pure: the switcher's retry loop (engine-retry.ts) supplies the
 * clock and the randomness.
 */

/** How an attempt on one engine failed: the ledger outcomes plus the two that make no call. */
export type AttemptFailureOutcome = 'error' | 'timeout' | 'rate_limited' | 'invalid_output' | 'unsupported' | 'circuit_open';

export interface AttemptFailureInfo {
  outcome: AttemptFailureOutcome;
  /** The HTTP status, when the provider answered with one. */
  status?: number;
  /** A 429's Retry-After, in seconds. */
  retryAfterSeconds?: number;
  /** The failure class (see src/llm/errors.ts FailureClass); `host_not_allowed` is permanent. */
  failureClass?: string;
}

export interface RetryPolicy {
  /** Retries after the first attempt on one engine. */
  maxRetries: number;
  /** The first backoff; each further one doubles. */
  baseDelayMs: number;
  /** The longest a single wait may be; a Retry-After asking for more is not waited for (fail over). */
  maxBackoffMs: number;
}

/** Workers' defaults (LLM_RETRIES_PER_ENGINE sets maxRetries). */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 8, baseDelayMs: 100, maxBackoffMs: 30_000 };

/** Invalid answers (unparseable, off-schema) are retried at most this often per engine: a model that answers garbage twice will likely keep doing so. */
export const MAX_INVALID_OUTPUT_RETRIES = 1;

/**
 * Transient failures: 5xx, 408 (request timeout), 409 (conflict, e.g. a concurrent request),
 * 429, timeouts and connection errors (an 'error' without a status). Everything else is
 * permanent: other 4xx (bad request, auth, not found), a 3xx (redirects are not followed), a host
 * ENGINE_ALLOWED_HOSTS refuses, an unsupported provider, an open circuit.
 * An invalid answer is retryable but bounded separately (MAX_INVALID_OUTPUT_RETRIES).
 */
export function isRetryable(failure: AttemptFailureInfo): boolean {
  switch (failure.outcome) {
    case 'timeout':
    case 'rate_limited':
    case 'invalid_output':
      return true;
    case 'error': {
      if (failure.failureClass === 'host_not_allowed') return false; // the policy will refuse it again
      const s = failure.status;
      return s === undefined || s >= 500 || s === 408 || s === 409 || s === 429;
    }
    default:
      return false;
  }
}

/**
 * The wait before retry number `retry` (1-based): exponential (base · 2^(retry-1), capped at
 * maxBackoffMs) with "equal jitter" — half fixed, half random — so that the items that failed
 * together do not come back together. `random` is in [0, 1).
 */
export function backoffMs(retry: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxBackoffMs'>, random: number): number {
  const exp = Math.min(policy.maxBackoffMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(exp / 2 + (exp / 2) * clamp01(random));
}

export interface RetryState {
  /** Attempts already made on this engine for this request (≥ 1). */
  attempts: number;
  /** Of those, how many answered with invalid output. */
  invalidOutputs: number;
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; why: string };

/**
 * Whether to try the same engine again after `failure`, and after how long. A 429 waits at least
 * its Retry-After (plus up to one base delay of jitter); when that is more than `maxBackoffMs`,
 * or a wait would end past `deadline` (epoch ms), the engine is given up on.
 */
export function decideRetry(
  failure: AttemptFailureInfo,
  state: RetryState,
  policy: RetryPolicy,
  now: number,
  random: number,
  deadline?: number,
): RetryDecision {
  if (!isRetryable(failure)) return { retry: false, why: 'permanent' };
  if (state.attempts > policy.maxRetries) return { retry: false, why: 'retries exhausted' };
  if (failure.outcome === 'invalid_output' && state.invalidOutputs > MAX_INVALID_OUTPUT_RETRIES) {
    return { retry: false, why: 'invalid output again' };
  }
  let delayMs = backoffMs(state.attempts, policy, random);
  if (failure.retryAfterSeconds !== undefined) {
    const askedMs = Math.ceil(failure.retryAfterSeconds * 1000);
    if (askedMs > policy.maxBackoffMs) return { retry: false, why: `retry-after ${failure.retryAfterSeconds}s exceeds the ${policy.maxBackoffMs}ms allowed` };
    delayMs = Math.max(delayMs, askedMs + Math.round(policy.baseDelayMs * clamp01(random)));
  }
  if (deadline !== undefined && now + delayMs >= deadline) return { retry: false, why: 'deadline' };
  return { retry: true, delayMs };
}

/** The policy for one engine: the switcher's, an engine's `params.max_retries`, then the request's caps (the smaller wins). */
export function effectivePolicy(
  base: RetryPolicy,
  engineParams: Record<string, unknown> | null | undefined,
  request?: { maxRetries?: number; maxBackoffMs?: number },
): RetryPolicy {
  const own = engineParams?.max_retries;
  let maxRetries = typeof own === 'number' && Number.isInteger(own) && own >= 0 ? own : base.maxRetries;
  let maxBackoffMs = base.maxBackoffMs;
  if (request?.maxRetries !== undefined) maxRetries = Math.min(maxRetries, Math.max(0, Math.floor(request.maxRetries)));
  if (request?.maxBackoffMs !== undefined) maxBackoffMs = Math.min(maxBackoffMs, Math.max(0, request.maxBackoffMs));
  return { ...base, maxRetries, maxBackoffMs };
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(Math.max(x, 0), 1) : 0;
}
