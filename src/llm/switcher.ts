import type { Knex } from 'knex';
import { attemptCacheKey, attemptEngine, type AttemptContext, type AttemptOutcome, type SwitcherLogger } from './attempt';
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker';
import { cacheGetMany, createCacheWriter } from './cache';
import { attemptWithRetries } from './engine-retry';
import { createLedgerWriter } from './ledger';
import type { EngineRecord } from '../db/models';
import { MemoryCache } from './memory-cache';
import { probeCall, type ProbeCall, type ProbeOptions } from './probe';
import { buildMessages } from './prompt';
import { createAnthropicProvider } from './providers/anthropic';
import { localProvider } from './providers/local';
import { createOpenAIProvider } from './providers/openai';
import type { Egress } from './providers/egress';
import { defaultEgress } from './providers/transport';
import type { Provider } from './providers/types';
import { EngineRateLimiter, type RateLimiter } from './rate-limiter';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy';
import { SingleFlight } from './single-flight';
import { memoizedEngineLoader, preloadedEngineLoader, resolveRoute } from './route';
import { AllEnginesFailedError, type CacheHint, type EngineAttemptFailure, type GenerateRequest, type GenerateResult, type LlmSwitcher } from './types';

export type { SwitcherLogger } from './attempt';

export interface SwitcherOptions {
  db: Knex;
  /** Per engine call; an engine's `params.timeout_ms` overrides it. */
  timeoutMs: number;
  logger?: SwitcherLogger;
  /** Provider adapters by `engines.provider`; defaults: local, openai, anthropic. */
  providers?: Partial<Record<string, Provider>>;
  /** How long answers stay cached (default one day; 0 disables; `params.cache_ttl_seconds` per engine). */
  cacheTtlSeconds?: number;
  /** Default: buckets in this process (EngineRateLimiter); the processes pass a SharedRateLimiter. */
  rateLimiter?: RateLimiter;
  circuitBreaker?: CircuitBreaker | CircuitBreakerOptions;
  /** Keep this many recent answers in memory in front of the cache table (default 0: none). */
  memoryCacheEntries?: number;
  /** How long an answer is served from memory at most (default 60 s; the table's expiry still applies). */
  memoryCacheMaxAgeMs?: number;
  /** How long engine rows are reused before they are read again (default 0: every call reads them; workers pass a few seconds). */
  engineCacheMs?: number;
  /** A call's in-flight ledger row may be settled by the sweeper this long after its timeout (default 30 s). */
  ledgerSettleMarginMs?: number;
  /** Retries of transient failures per engine and their backoff (default DEFAULT_RETRY_POLICY; LLM_RETRIES_PER_ENGINE). */
  retry?: Partial<RetryPolicy>;
  /** Where provider calls may connect (ENGINE_ALLOWED_HOSTS); default: this process's environment. */
  egress?: Egress;
}

export interface Switcher extends LlmSwitcher {
  /** Per-engine state for health reporting. */
  readonly circuitBreaker: CircuitBreaker;
  readonly rateLimiter: RateLimiter;
  /**
   * One real call to one engine for the health probe (probe.ts): no route, cache, rate limiter
   * or breaker admission; ledger, deadline, parse and cost as every call.
   */
  probe(engine: EngineRecord, options: ProbeOptions): Promise<ProbeCall>;
  /**
   * One engine alone — no fallback, no cache, no retry — for engine comparison: the attempt the
   * route would make (rate limiter, circuit breaker, ledger), answer or failure.
   */
  callAlone(engine: EngineRecord, request: Omit<GenerateRequest, 'engineId'>): Promise<AttemptOutcome>;
  /** Where its provider calls may connect (engine registration checks base_url against it). */
  readonly egress: Egress;
  /** Settles when the cache entries written behind answers so far are stored (tests, shutdown). */
  flush(): Promise<void>;
}

export const DEFAULT_CACHE_TTL_SECONDS = 24 * 60 * 60;

/**
 * The LLM switcher: resolves the route (engine, its fallbacks, the request's fallbacks) and
 * tries each engine in turn — cache → rate limiter → circuit breaker → provider → parse →
 * ledger (see attempt.ts) — until one answers. A transient failure (5xx, timeout, connection
 * error, 429, once an invalid answer) is retried on the same engine with backoff, a bounded
 * number of times (engine-retry.ts, retry-policy.ts); a permanent one (other 4xx, open circuit,
 * unknown or disabled engine) moves on at once. Concurrent cache misses of one key share one
 * provider call (single-flight.ts). When every engine fails it throws AllEnginesFailedError
 * listing every attempt in order. The engine health probe (`probe`) and engine comparison
 * (`callAlone`) call one engine through the same attempt path: nothing else talks to a provider.
 */
export function createSwitcher(options: SwitcherOptions): Switcher {
  const breaker = options.circuitBreaker instanceof CircuitBreaker ? options.circuitBreaker : new CircuitBreaker(options.circuitBreaker);
  const limiter = options.rateLimiter ?? new EngineRateLimiter();
  const egress = options.egress ?? defaultEgress();
  const cacheWriter = createCacheWriter(options.db, (err) => options.logger?.warn({ err }, 'llm cache write failed'));
  const ctx: AttemptContext = {
    db: options.db,
    providers: { local: localProvider, openai: createOpenAIProvider({ egress }), anthropic: createAnthropicProvider({ egress }), ...options.providers },
    limiter,
    breaker,
    timeoutMs: options.timeoutMs,
    cacheTtlSeconds: options.cacheTtlSeconds ?? DEFAULT_CACHE_TTL_SECONDS,
    memoryCache: options.memoryCacheEntries ? new MemoryCache(options.memoryCacheEntries, options.memoryCacheMaxAgeMs ?? 60_000) : undefined,
    cacheWriter,
    ledger: createLedgerWriter(options.db),
    ledgerSettleMarginMs: options.ledgerSettleMarginMs,
    logger: options.logger,
  };

  const loadEngines = memoizedEngineLoader(options.engineCacheMs ?? 0);
  const retryDeps = { policy: { ...DEFAULT_RETRY_POLICY, ...options.retry }, flights: new SingleFlight() };

  async function generate(request: GenerateRequest): Promise<GenerateResult> {
    const { project } = request;
    if (!project?.labelSchema?.labels?.length) throw new Error('generate: the project has no labels');
    const load = request.engines ? preloadedEngineLoader(request.engines, loadEngines) : loadEngines;
    const route = await resolveRoute(ctx.db, project.tenantId, request.engineId, request.fallbackEngineIds ?? [], load);
    const messages = buildMessages({ project, item: request.item, instructions: request.instructions });
    const failures: EngineAttemptFailure[] = [];

    for (const step of route) {
      if (request.signal?.aborted) throw request.signal.reason instanceof Error ? request.signal.reason : new Error('aborted');
      if ('skipReason' in step) {
        failures.push({ engineId: step.engineId, attempt: 1, outcome: step.skipReason.split(':')[0], reason: step.skipReason });
        continue;
      }
      const answered = await attemptWithRetries(ctx, retryDeps, step.engine, request, messages, failures);
      if (answered) return { ...answered, failedAttempts: failures };
      ctx.logger?.warn({ engineId: step.engine.id, projectId: project.projectId, reason: failures.at(-1)?.reason }, 'llm engine failed; trying the next');
    }
    throw new AllEnginesFailedError(failures);
  }

  async function lookUpCache(requests: GenerateRequest[]): Promise<(CacheHint | undefined)[]> {
    const first = requests[0];
    if (!first) return [];
    const load = first.engines ? preloadedEngineLoader(first.engines, loadEngines) : loadEngines;
    const [step] = await resolveRoute(ctx.db, first.project.tenantId, first.engineId, first.fallbackEngineIds ?? [], load);
    if (!step || 'skipReason' in step) return requests.map(() => undefined);
    const engine = step.engine;
    const keys = requests.map((r) =>
      r.engineId === first.engineId && r.project.projectId === first.project.projectId
        ? attemptCacheKey(ctx, engine, r, buildMessages({ project: r.project, item: r.item, instructions: r.instructions }))
        : null,
    );
    let found: Map<string, string>;
    try {
      found = await cacheGetMany(ctx.db, keys.filter((k): k is string => k !== null));
    } catch (err) {
      ctx.logger?.warn({ err }, 'llm cache read failed; each call reads its own');
      return requests.map(() => undefined);
    }
    return keys.map((key) => (key ? { engineId: engine.id, key, text: found.get(key) ?? null } : undefined));
  }

  async function callAlone(engine: EngineRecord, request: Omit<GenerateRequest, 'engineId'>): Promise<AttemptOutcome> {
    const messages = buildMessages({ project: request.project, item: request.item, instructions: request.instructions });
    const uncached: AttemptContext = { ...ctx, cacheTtlSeconds: 0, memoryCache: undefined, cacheWriter: undefined };
    return attemptEngine(uncached, { ...engine, params: { ...engine.params, cache: false } }, { ...request, engineId: engine.id }, messages);
  }

  return {
    generate,
    lookUpCache,
    probe: (engine, probeOptions) => probeCall(ctx, engine, probeOptions),
    callAlone,
    circuitBreaker: breaker,
    rateLimiter: limiter,
    egress,
    flush: () => cacheWriter.flush(),
  };
}
