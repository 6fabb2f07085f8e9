import type { Middleware } from 'koa';
import { tooManyRequests } from '../errors';
import type { ApiContextExtras, ApiState } from '../deps';

export interface ClientRateLimitOptions {
  /** Requests allowed per window and key. */
  limit: number;
  windowMs?: number;
  now?: () => number;
}

interface Window {
  count: number;
  resetAt: number;
}

/**
 * A fixed window per key, started by the key's first request. In memory, so a limit holds per
 * replica; put a shared limiter at the load balancer if that is not enough. Expired windows
 * are swept at most once per window length, on the request path, so no timer keeps the
 * process alive.
 */
export class ClientRateLimit {
  private readonly windows = new Map<string, Window>();
  private readonly windowMs: number;
  private readonly now: () => number;
  private lastSweep: number;

  constructor(readonly limit: number, options: Omit<ClientRateLimitOptions, 'limit'> = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.lastSweep = this.now();
  }

  /** Counts one request for `key`. */
  hit(key: string): { allowed: boolean; remaining: number; resetAt: number; retryAfterSeconds: number } {
    const now = this.now();
    this.sweep(now);
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + this.windowMs };
      this.windows.set(key, w);
    }
    w.count += 1;
    return {
      allowed: w.count <= this.limit,
      remaining: Math.max(0, this.limit - w.count),
      resetAt: w.resetAt,
      retryAfterSeconds: Math.max(1, Math.ceil((w.resetAt - now) / 1000)),
    };
  }

  get size(): number {
    return this.windows.size;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.windowMs) return;
    this.lastSweep = now;
    for (const [key, w] of this.windows) if (w.resetAt <= now) this.windows.delete(key);
  }
}

/**
 * Per user when `identify` found a valid token, else per client IP. Sets X-RateLimit-Limit,
 * -Remaining and -Reset (unix seconds) before anything else can fail, so every response carries
 * them, errors included; a 429 adds Retry-After.
 */
export function rateLimit(limiter: ClientRateLimit): Middleware<ApiState, ApiContextExtras> {
  return async (ctx, next) => {
    const p = ctx.state.principal;
    const key = p ? `user:${p.tenantId}:${p.userId}` : `ip:${ctx.ip}`;
    const { allowed, remaining, resetAt, retryAfterSeconds } = limiter.hit(key);
    ctx.set('X-RateLimit-Limit', String(limiter.limit));
    ctx.set('X-RateLimit-Remaining', String(remaining));
    ctx.set('X-RateLimit-Reset', String(Math.ceil(resetAt / 1000)));
    if (!allowed) throw tooManyRequests(retryAfterSeconds);
    await next();
  };
}
