import { backoffMs, decideRetry, DEFAULT_RETRY_POLICY, effectivePolicy, isRetryable, type RetryPolicy } from '../../../src/llm/retry-policy';

const policy: RetryPolicy = { maxRetries: 3, baseDelayMs: 100, maxBackoffMs: 5000 };

describe('isRetryable', () => {
  it('retries 5xx, 408, 409, 429, timeouts, connection errors and invalid answers', () => {
    for (const status of [500, 502, 503, 529, 408, 409, 429]) expect(isRetryable({ outcome: 'error', status })).toBe(true);
    expect(isRetryable({ outcome: 'error' })).toBe(true); // connection error: no status
    expect(isRetryable({ outcome: 'timeout' })).toBe(true);
    expect(isRetryable({ outcome: 'rate_limited', status: 429 })).toBe(true);
    expect(isRetryable({ outcome: 'invalid_output' })).toBe(true);
  });

  it('never retries other 4xx, auth errors, an unsupported provider or an open circuit', () => {
    for (const status of [400, 401, 403, 404, 413, 422]) expect(isRetryable({ outcome: 'error', status })).toBe(false);
    expect(isRetryable({ outcome: 'unsupported' })).toBe(false);
    expect(isRetryable({ outcome: 'circuit_open' })).toBe(false);
  });

  it('never retries a host ENGINE_ALLOWED_HOSTS refused, or a redirect (not followed)', () => {
    expect(isRetryable({ outcome: 'error', failureClass: 'host_not_allowed' })).toBe(false);
    expect(isRetryable({ outcome: 'error', failureClass: 'connection_failed' })).toBe(true);
    for (const status of [301, 302, 307, 308]) expect(isRetryable({ outcome: 'error', status, failureClass: 'redirect_not_followed' })).toBe(false);
  });
});

describe('backoffMs', () => {
  it('doubles from the base, capped, with half of each wait random', () => {
    expect([1, 2, 3, 4].map((r) => backoffMs(r, policy, 0))).toEqual([50, 100, 200, 400]);
    expect([1, 2, 3, 4].map((r) => backoffMs(r, policy, 0.999999))).toEqual([100, 200, 400, 800]);
    expect(backoffMs(20, policy, 0)).toBe(2500);
    expect(backoffMs(20, policy, 0.999999)).toBe(5000);
  });
});

describe('decideRetry', () => {
  const state = (attempts: number, invalidOutputs = 0) => ({ attempts, invalidOutputs });

  it('retries a transient failure up to maxRetries times, then gives up', () => {
    const err = { outcome: 'error' as const, status: 503 };
    expect(decideRetry(err, state(1), policy, 0, 0)).toEqual({ retry: true, delayMs: 50 });
    expect(decideRetry(err, state(3), policy, 0, 0)).toEqual({ retry: true, delayMs: 200 });
    expect(decideRetry(err, state(4), policy, 0, 0)).toEqual({ retry: false, why: 'retries exhausted' });
    expect(decideRetry({ outcome: 'error', status: 401 }, state(1), policy, 0, 0)).toEqual({ retry: false, why: 'permanent' });
  });

  it('retries an invalid answer at most once', () => {
    expect(decideRetry({ outcome: 'invalid_output' }, state(1, 1), policy, 0, 0).retry).toBe(true);
    expect(decideRetry({ outcome: 'invalid_output' }, state(3, 2), policy, 0, 0)).toEqual({ retry: false, why: 'invalid output again' });
    // A transient failure after an invalid answer is still retried.
    expect(decideRetry({ outcome: 'timeout' }, state(2, 1), policy, 0, 0).retry).toBe(true);
  });

  it('waits at least a 429’s Retry-After, and fails over when it asks for more than allowed', () => {
    expect(decideRetry({ outcome: 'rate_limited', retryAfterSeconds: 1 }, state(1), policy, 0, 0)).toEqual({ retry: true, delayMs: 1000 });
    expect(decideRetry({ outcome: 'rate_limited', retryAfterSeconds: 1 }, state(1), policy, 0, 0.5)).toEqual({ retry: true, delayMs: 1050 });
    expect(decideRetry({ outcome: 'rate_limited', retryAfterSeconds: 0.01 }, state(2), policy, 0, 0)).toEqual({ retry: true, delayMs: 100 });
    expect(decideRetry({ outcome: 'rate_limited', retryAfterSeconds: 6 }, state(1), policy, 0, 0)).toEqual({
      retry: false,
      why: 'retry-after 6s exceeds the 5000ms allowed',
    });
  });

  it('never waits past the deadline', () => {
    expect(decideRetry({ outcome: 'timeout' }, state(1), policy, 1000, 0, 1051)).toEqual({ retry: true, delayMs: 50 });
    expect(decideRetry({ outcome: 'timeout' }, state(1), policy, 1000, 0, 1050)).toEqual({ retry: false, why: 'deadline' });
    expect(decideRetry({ outcome: 'rate_limited', retryAfterSeconds: 1 }, state(1), policy, 0, 0, 900)).toEqual({ retry: false, why: 'deadline' });
  });
});

describe('effectivePolicy', () => {
  it('takes the engine’s max_retries over the setting, and the request’s caps over both', () => {
    expect(effectivePolicy(policy, {}).maxRetries).toBe(3);
    expect(effectivePolicy(policy, { max_retries: 0 }).maxRetries).toBe(0);
    expect(effectivePolicy(policy, { max_retries: 8 }).maxRetries).toBe(8);
    expect(effectivePolicy(policy, { max_retries: 'lots' }).maxRetries).toBe(3);
    expect(effectivePolicy(policy, { max_retries: 8 }, { maxRetries: 1, maxBackoffMs: 250 })).toEqual({ maxRetries: 1, baseDelayMs: 100, maxBackoffMs: 250 });
    expect(effectivePolicy(policy, null, { maxRetries: 10, maxBackoffMs: 60_000 })).toEqual(policy);
    expect(DEFAULT_RETRY_POLICY.maxRetries).toBeGreaterThan(0);
  });
});
