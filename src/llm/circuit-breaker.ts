/**
 * A circuit breaker per engine. Closed: calls pass. After `failureThreshold` consecutive
 * failures it opens: calls are refused (the switcher fails over) until `cooldownMs` has passed;
 * then it is half-open and lets exactly one probe through. A successful probe closes it, a
 * failed one opens it for another cool-down. The switcher's retries of one request count as one
 * failure (onRetryFailure), so a poison item retried N times is not N failures of the engine.
 */

/**
 * Defaults: high enough that item-specific failures (a poison item answered with a 500) mixed
 * with successes under concurrency do not trip it; a dead engine trips it within a batch.
 */
export const DEFAULT_FAILURE_THRESHOLD = 10;
export const DEFAULT_COOLDOWN_MS = 15_000;

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitBreakerOptions {
  failureThreshold?: number;
  cooldownMs?: number;
  now?: () => number;
}

interface Circuit {
  state: CircuitState;
  failures: number;
  openedAt: number;
  probing: boolean;
}

export class CircuitBreaker {
  readonly failureThreshold: number;
  readonly cooldownMs: number;
  private readonly now: () => number;
  private readonly circuits = new Map<string, Circuit>();

  constructor(options: CircuitBreakerOptions = {}) {
    this.failureThreshold = Math.max(1, options.failureThreshold ?? DEFAULT_FAILURE_THRESHOLD);
    this.cooldownMs = Math.max(0, options.cooldownMs ?? DEFAULT_COOLDOWN_MS);
    this.now = options.now ?? Date.now;
  }

  /** The state as a caller would see it now (an open circuit past its cool-down reads half_open). */
  state(engineId: string): CircuitState {
    const c = this.circuits.get(engineId);
    if (!c) return 'closed';
    if (c.state === 'open' && this.now() - c.openedAt >= this.cooldownMs) return 'half_open';
    return c.state;
  }

  /** Would a call be refused right now? (Does not claim the half-open probe.) */
  wouldRefuse(engineId: string): boolean {
    const c = this.circuits.get(engineId);
    if (!c || c.state === 'closed') return false;
    if (c.state === 'half_open') return c.probing;
    return this.now() - c.openedAt < this.cooldownMs;
  }

  /** Admits a call: always when closed; once (the probe) when half-open; never when open. */
  tryAcquire(engineId: string): boolean {
    const c = this.circuits.get(engineId);
    if (!c || c.state === 'closed') return true;
    if (c.state === 'open') {
      if (this.now() - c.openedAt < this.cooldownMs) return false;
      c.state = 'half_open';
      c.probing = false;
    }
    if (c.probing) return false;
    c.probing = true;
    return true;
  }

  /** The engine answered: close the circuit. */
  onSuccess(engineId: string): void {
    this.circuits.delete(engineId);
  }

  /** The engine failed (error or timeout). */
  onFailure(engineId: string): void {
    const c = this.circuits.get(engineId) ?? { state: 'closed' as CircuitState, failures: 0, openedAt: 0, probing: false };
    this.circuits.set(engineId, c);
    c.failures++;
    if (c.state === 'half_open' || c.failures >= this.failureThreshold) {
      c.state = 'open';
      c.openedAt = this.now();
      c.probing = false;
    }
  }

  /**
   * A retry of a request that already failed on this engine failed again. It reopens a half-open
   * circuit (the probe failed) but adds nothing towards opening a closed one: the request's first
   * failure was counted, and a poison item failing on every retry says nothing new about the engine.
   */
  onRetryFailure(engineId: string): void {
    const c = this.circuits.get(engineId);
    if (c?.state === 'half_open') this.onFailure(engineId);
  }

  /** The call ended without telling whether the engine is healthy (e.g. aborted, 429): free the probe. */
  release(engineId: string): void {
    const c = this.circuits.get(engineId);
    if (c?.state === 'half_open') c.probing = false;
  }

  /** Milliseconds until an open circuit admits a probe (0 otherwise). */
  retryInMs(engineId: string): number {
    const c = this.circuits.get(engineId);
    if (!c || c.state !== 'open') return 0;
    return Math.max(0, c.openedAt + this.cooldownMs - this.now());
  }
}
