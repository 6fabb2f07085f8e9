/**
 * Token buckets per engine, one for requests per minute and one for tokens per minute. A call
 * that does not fit waits (FIFO, abortable) rather than fails. A 429's Retry-After pauses the
 * engine. `EngineRateLimiter` keeps the buckets in this process (tests, one-process setups);
 * `SharedRateLimiter` (shared-rate-limiter.ts) keeps them in PostgreSQL, so the limit of an
 * engine's API key holds for every worker and API replica together. Both implement `RateLimiter`.
 */

const MINUTE = 60_000;

/** What the switcher needs of a rate limiter. */
export interface RateLimiter {
  /** Waits until the engine may make one request of about `tokens` tokens, then takes them. */
  acquire(engineId: string, limits: RateLimits | null | undefined, tokens: number, signal?: AbortSignal): Promise<void>;
  /** Corrects the token bucket once the real usage is known (a refund or a debt). */
  settle(engineId: string, estimatedTokens: number, actualTokens: number): void;
  /** No request starts for this engine before `seconds` from now (a 429's Retry-After). */
  pause(engineId: string, seconds: number): void;
  /** Milliseconds until the engine is no longer paused, as far as this process knows (0 when it is not). */
  pausedForMs(engineId: string): number;
  waiting(engineId: string): number;
}

/** A bucket's state as both limiters reason about it; `rpm`/`tpm` 0 = unlimited. */
export interface BucketState {
  rpm: number;
  tpm: number;
  requests: number;
  tokens: number;
  pausedMs: number;
}

/**
 * Milliseconds until a request of `tokens` fits the bucket (0: now). A request larger than the
 * whole token bucket waits for a full bucket, never forever.
 */
export function bucketWaitMs(b: BucketState, tokens: number): number {
  let wait = Math.max(0, b.pausedMs);
  if (b.rpm && b.requests < 1) wait = Math.max(wait, ((1 - b.requests) * MINUTE) / b.rpm);
  const need = Math.min(tokens, b.tpm);
  if (b.tpm && b.tokens < need) wait = Math.max(wait, ((need - b.tokens) * MINUTE) / b.tpm);
  return wait > 0 ? Math.ceil(wait) : 0;
}

export interface RateLimits {
  rpm?: number | null;
  tpm?: number | null;
}

export interface EngineRateLimiterOptions {
  now?: () => number;
}

interface Waiter {
  tokens: number;
  resolve: () => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

interface Bucket {
  rpm: number; // 0 = unlimited
  tpm: number;
  requests: number; // available now (may go negative for tokens after settling)
  tokens: number;
  updatedAt: number;
  pausedUntil: number;
  queue: Waiter[];
  timer: NodeJS.Timeout | null;
}


export class EngineRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  constructor(options: EngineRateLimiterOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** Waits until the engine may make one request of about `tokens` tokens, then takes them. */
  acquire(engineId: string, limits: RateLimits | null | undefined, tokens: number, signal?: AbortSignal): Promise<void> {
    const bucket = this.bucket(engineId, limits);
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (bucket.queue.length === 0 && this.take(bucket, tokens)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { tokens, resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const i = bucket.queue.indexOf(waiter);
          if (i >= 0) bucket.queue.splice(i, 1);
          reject(abortReason(signal));
          this.pump(bucket);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      bucket.queue.push(waiter);
      this.pump(bucket);
    });
  }

  /** Corrects the token bucket once the real usage is known (a refund or a debt). */
  settle(engineId: string, estimatedTokens: number, actualTokens: number): void {
    const bucket = this.buckets.get(engineId);
    if (!bucket || !bucket.tpm) return;
    this.refill(bucket);
    bucket.tokens = Math.min(bucket.tpm, bucket.tokens + estimatedTokens - actualTokens);
  }

  /** No request starts for this engine before `seconds` from now (a 429's Retry-After). */
  pause(engineId: string, seconds: number): void {
    if (!(seconds > 0)) return;
    const bucket = this.bucket(engineId, undefined);
    bucket.pausedUntil = Math.max(bucket.pausedUntil, this.now() + seconds * 1000);
  }

  /** Milliseconds until the engine is no longer paused (0 when it is not). */
  pausedForMs(engineId: string): number {
    const bucket = this.buckets.get(engineId);
    return bucket ? Math.max(0, bucket.pausedUntil - this.now()) : 0;
  }

  waiting(engineId: string): number {
    return this.buckets.get(engineId)?.queue.length ?? 0;
  }

  private bucket(engineId: string, limits: RateLimits | null | undefined): Bucket {
    let bucket = this.buckets.get(engineId);
    if (!bucket) {
      bucket = { rpm: 0, tpm: 0, requests: 0, tokens: 0, updatedAt: this.now(), pausedUntil: 0, queue: [], timer: null };
      this.buckets.set(engineId, bucket);
    }
    if (limits !== undefined) {
      const rpm = positiveLimit(limits?.rpm);
      const tpm = positiveLimit(limits?.tpm);
      // A new or changed limit starts with a full bucket (clamped to the new capacity).
      this.refill(bucket);
      if (rpm !== bucket.rpm) bucket.requests = rpm;
      if (tpm !== bucket.tpm) bucket.tokens = tpm;
      bucket.rpm = rpm;
      bucket.tpm = tpm;
    }
    return bucket;
  }

  private refill(bucket: Bucket): void {
    const now = this.now();
    const elapsed = Math.max(0, now - bucket.updatedAt);
    bucket.updatedAt = now;
    if (bucket.rpm) bucket.requests = Math.min(bucket.rpm, bucket.requests + (elapsed * bucket.rpm) / MINUTE);
    if (bucket.tpm) bucket.tokens = Math.min(bucket.tpm, bucket.tokens + (elapsed * bucket.tpm) / MINUTE);
  }

  /** Takes capacity for one request if it is there now. */
  private take(bucket: Bucket, tokens: number): boolean {
    return this.waitMs(bucket, tokens) === 0 && (this.consume(bucket, tokens), true);
  }

  private consume(bucket: Bucket, tokens: number): void {
    if (bucket.rpm) bucket.requests -= 1;
    if (bucket.tpm) bucket.tokens -= Math.min(tokens, bucket.tpm);
  }

  /** Milliseconds until a request of `tokens` fits (0: now). */
  private waitMs(bucket: Bucket, tokens: number): number {
    this.refill(bucket);
    return bucketWaitMs({ ...bucket, pausedMs: bucket.pausedUntil - this.now() }, tokens);
  }

  private pump(bucket: Bucket): void {
    if (bucket.timer) {
      clearTimeout(bucket.timer);
      bucket.timer = null;
    }
    while (bucket.queue.length) {
      const head = bucket.queue[0];
      const wait = this.waitMs(bucket, head.tokens);
      if (wait > 0) {
        bucket.timer = setTimeout(() => {
          bucket.timer = null;
          this.pump(bucket);
        }, wait);
        return;
      }
      bucket.queue.shift();
      this.consume(bucket, head.tokens);
      if (head.onAbort) head.signal?.removeEventListener('abort', head.onAbort);
      head.resolve();
    }
  }
}

/** Rough token count of a prompt (4 characters a token) plus the expected answer. */
export function estimateTokens(promptChars: number, maxAnswerTokens = 50): number {
  return Math.ceil(promptChars / 4) + maxAnswerTokens;
}

/** A configured limit, or 0 for none. */
export function positiveLimit(n: number | null | undefined): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0;
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
