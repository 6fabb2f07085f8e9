import { setTimeout as delay } from 'node:timers/promises';
import { abortReason, attemptCacheKey, attemptEngine, type AttemptContext, type AttemptOutcome } from './attempt';
import type { EngineRecord } from '../db/models';
import type { ChatMessage } from './prompt';
import { decideRetry, effectivePolicy, type RetryPolicy } from './retry-policy';
import type { SingleFlight } from './single-flight';
import type { EngineAttemptFailure, GenerateRequest, GenerateResult } from './types';

export interface EngineRetryDeps {
  policy: RetryPolicy;
  flights: SingleFlight;
  random?: () => number;
  now?: () => number;
}

/**
 * One engine of the route, retried: attempts it (through single flight when its answer is
 * cached) and, while the failure is transient and the policy allows, waits with backoff and
 * attempts it again. Every failed attempt is appended to `failures` (engine, attempt number,
 * outcome, reason). Returns the answer, or null when the engine is given up on. Throws only when
 * the caller aborts (also during a backoff wait).
 */
export async function attemptWithRetries(
  ctx: AttemptContext,
  deps: EngineRetryDeps,
  engine: EngineRecord,
  request: GenerateRequest,
  messages: ChatMessage[],
  failures: EngineAttemptFailure[],
): Promise<Omit<GenerateResult, 'failedAttempts'> | null> {
  const policy = effectivePolicy(deps.policy, engine.params, request.retry);
  const random = deps.random ?? Math.random;
  const now = deps.now ?? Date.now;
  const key = attemptCacheKey(ctx, engine, request, messages);
  let invalidOutputs = 0;
  for (let attempt = 1; ; attempt++) {
    const options = { retry: attempt > 1 };
    const outcome: AttemptOutcome = key
      ? await deps.flights.run(key, request.signal, (joined) => attemptEngine(ctx, engine, request, messages, { ...options, joined }), (o) => (o.ok ? o.answer : undefined))
      : await attemptEngine(ctx, engine, request, messages, options);
    if (outcome.ok) return outcome.result;
    failures.push({ engineId: engine.id, attempt, outcome: outcome.outcome, reason: outcome.reason });
    if (outcome.outcome === 'invalid_output') invalidOutputs++;
    const decision = decideRetry(outcome, { attempts: attempt, invalidOutputs }, policy, now(), random(), request.deadline);
    if (!decision.retry) return null;
    await sleep(decision.delayMs, request.signal);
  }
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch (err) {
    throw signal?.aborted ? abortReason(signal) : err;
  }
}
