/**
 * How one engine call failed. The `outcome` is what the usage ledger records; the message is
 * the reason the switcher reports in `EngineAttemptFailure`.
 */
import type { TokenUsage } from './types';

export type FailureOutcome = 'error' | 'timeout' | 'rate_limited' | 'invalid_output';

/**
 * What callers are told about a failed call (probe, compare, suggestion and job errors). Never
 * the raw socket error or the host and port: a caller who registers an engine must not learn
 * from the answer whether some internal port is open. `host_not_allowed`: ENGINE_ALLOWED_HOSTS
 * refused the host (no connection was made).
 */
export type FailureClass =
  | 'connection_failed'
  | 'timeout'
  | 'http_4xx'
  | 'http_5xx'
  | 'redirect_not_followed'
  | 'rate_limited'
  | 'invalid_output'
  | 'host_not_allowed'
  | 'aborted'
  | 'provider_error';

export interface EngineCallErrorDetails {
  status?: number;
  retryAfterSeconds?: number;
  /** Default: from the outcome and status. */
  failureClass?: FailureClass;
}

export class EngineCallError extends Error {
  /** Tokens the failed call still consumed (e.g. an answer that did not parse), for the ledger. */
  usage?: TokenUsage;
  readonly failureClass: FailureClass;

  constructor(
    public readonly outcome: FailureOutcome,
    message: string,
    public readonly details: EngineCallErrorDetails = {},
  ) {
    super(message);
    this.name = 'EngineCallError';
    this.failureClass = details.failureClass ?? classOf(outcome, details.status);
  }

  /** `class: message`, as attempt failures, probes and compare report it. */
  get reason(): string {
    return `${this.failureClass}: ${this.message}`;
  }
}

function classOf(outcome: FailureOutcome, status: number | undefined): FailureClass {
  if (outcome !== 'error') return outcome;
  if (status === undefined) return 'provider_error';
  if (status >= 500) return 'http_5xx';
  if (status >= 400) return 'http_4xx';
  if (status >= 300) return 'redirect_not_followed';
  return 'provider_error';
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

/**
 * Any thrown value as an EngineCallError. An unknown error is a plain 'error' of class
 * `provider_error` whose text is not passed on (it may be a raw socket error); the caller logs it.
 */
export function asEngineCallError(err: unknown): EngineCallError {
  if (err instanceof EngineCallError) return err;
  const wrapped = new EngineCallError('error', 'unexpected provider failure', { failureClass: 'provider_error' });
  Object.defineProperty(wrapped, 'cause', { value: err, enumerable: false }); // for the log only
  return wrapped;
}
