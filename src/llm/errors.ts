/**
 * How one engine call failed. The `outcome` is what the usage ledger records; the message is
 * the reason the switcher reports in `EngineAttemptFailure`.
 */
import type { TokenUsage } from './types';

export type FailureOutcome = 'error' | 'timeout' | 'rate_limited' | 'invalid_output';

export class EngineCallError extends Error {
  /** Tokens the failed call still consumed (e.g. an answer that did not parse), for the ledger. */
  usage?: TokenUsage;

  constructor(
    public readonly outcome: FailureOutcome,
    message: string,
    public readonly details: { status?: number; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.name = 'EngineCallError';
  }
}

/** The model answered, but not with a value the project's label schema allows. */
export class InvalidOutputError extends EngineCallError {
  constructor(message: string) {
    super('invalid_output', message);
    this.name = 'InvalidOutputError';
  }
}

export function withUsage<E extends EngineCallError>(err: E, usage: TokenUsage): E {
  err.usage = usage;
  return err;
}

export function timeoutError(ms: number): EngineCallError {
  return new EngineCallError('timeout', `no answer within ${ms}ms`);
}

/** Any thrown value as an EngineCallError (unknown errors are plain 'error'). */
export function asEngineCallError(err: unknown): EngineCallError {
  if (err instanceof EngineCallError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new EngineCallError('error', message || 'unknown error');
}
