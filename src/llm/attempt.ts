import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import { cacheGet, cacheKey, cacheTtlSeconds, type CacheWriter } from './cache';
import type { CircuitBreaker } from './circuit-breaker';
import { computeCostUsd } from './cost';
import type { EngineRecord } from './engine-store';
import { asEngineCallError, EngineCallError, type FailureOutcome } from './errors';
import type { LedgerWriter, UsageEntry } from './ledger';
import type { MemoryCache } from './memory-cache';
import { parseModelOutput, type ParsedOutput } from './parse';
import type { ChatMessage } from './prompt';
import type { Provider } from './providers/types';
import { ZERO_USAGE } from './providers/types';
import { estimateTokens, type RateLimiter } from './rate-limiter';
import { withDeadline } from './deadline';
import { metrics } from '../metrics';
import type { AttemptFailureOutcome } from './retry-policy';
import type { GenerateRequest, GenerateResult, TokenUsage } from './types';

/** pino-compatible; only what the switcher uses. */
export interface SwitcherLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface AttemptContext {
  db: Knex;
  providers: Partial<Record<string, Provider>>;
  limiter: RateLimiter;
  breaker: CircuitBreaker;
  timeoutMs: number;
  cacheTtlSeconds: number;
  /** Recent answers in memory, in front of the cache table (the API keeps one; workers need none). */
  memoryCache?: MemoryCache;
  /** Cache entries are written behind the answer (see createCacheWriter); none: nothing is cached. */
  cacheWriter?: CacheWriter;
  ledger: LedgerWriter;
  logger?: SwitcherLogger;
}

export type AttemptOutcome =
  /** `answer`: the raw answer text (what single flight hands to concurrent callers of the same key). */
  | { ok: true; result: Omit<GenerateResult, 'failedAttempts'>; answer: string }
  /** `outcome`, `status` and `retryAfterSeconds` are what the retry policy decides on. */
  | { ok: false; reason: string; outcome: AttemptFailureOutcome; status?: number; retryAfterSeconds?: number };

export interface AttemptOptions {
  /** An answer a concurrent attempt of this process just got for the same cache key (single flight): used like a cache hit. */
  joined?: string;
  /** This is a retry on the same engine (the circuit breaker counts a request's failures once). */
  retry?: boolean;
}

/** The cache key of this attempt, or null when its answer is not cached (caching off, local engine). */
export function attemptCacheKey(ctx: AttemptContext, engine: EngineRecord, request: GenerateRequest, messages: ChatMessage[]): string | null {
  const cacheWriter = request.writes?.cache ?? ctx.cacheWriter;
  const ttl = cacheWriter ? cacheTtlSeconds(engine, ctx.cacheTtlSeconds) : 0;
  const { project } = request;
  return ttl > 0 ? cacheKey({ tenantId: project.tenantId, projectId: project.projectId, engine, messages, labelSchema: project.labelSchema }) : null;
}

/**
 * One engine of the route: cache → rate limiter → circuit breaker → provider (under a deadline)
 * → parse and validate → usage ledger. Every provider call and every cache hit writes one ledger
 * row; an engine skipped before calling (open circuit, unknown provider) writes none. Throws only
 * when the caller aborts; any other failure is an `{ok: false, reason}` for the failover loop.
 */
export async function attemptEngine(
  ctx: AttemptContext,
  engine: EngineRecord,
  request: GenerateRequest,
  messages: ChatMessage[],
  options: AttemptOptions = {},
): Promise<AttemptOutcome> {
  const provider = ctx.providers[engine.provider];
  if (!provider) return { ok: false, reason: `unsupported: provider "${engine.provider}" is not available`, outcome: 'unsupported' };
  const { project } = request;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);

  // 1. Cache.
  const cacheWriter = request.writes?.cache ?? ctx.cacheWriter;
  const ttl = cacheWriter ? cacheTtlSeconds(engine, ctx.cacheTtlSeconds) : 0;
  const key = attemptCacheKey(ctx, engine, request, messages);
  if (key) {
    const hit = options.joined ?? (await readCache(ctx, key));
    const parsed = hit === null ? null : tryParse(hit, request);
    if (parsed) {
      const latencyMs = elapsed();
      await ledger(ctx, request, engine, { usage: { ...ZERO_USAGE }, costUsd: '0', latencyMs, outcome: 'ok', cached: true });
      return { ok: true, result: result(engine, parsed, { latencyMs, cached: true, usage: { ...ZERO_USAGE }, costUsd: '0' }), answer: hit! };
    }
  }

  // 2. Rate limiter (waits), 3. circuit breaker (refuses; checked first so nobody queues for an open circuit).
  if (ctx.breaker.wouldRefuse(engine.id)) return { ok: false, reason: circuitOpenReason(ctx, engine), outcome: 'circuit_open' };
  const promptChars = messages.reduce((n, m) => n + m.content.length, 0);
  const maxAnswer = typeof engine.params?.max_tokens === 'number' ? Math.min(engine.params.max_tokens, 256) : 50;
  const estimated = engine.provider === 'local' ? 0 : estimateTokens(promptChars, maxAnswer);
  await ctx.limiter.acquire(engine.id, engine.rate_limit, estimated, request.signal);
  if (!ctx.breaker.tryAcquire(engine.id)) {
    ctx.limiter.settle(engine.id, estimated, 0);
    return { ok: false, reason: circuitOpenReason(ctx, engine), outcome: 'circuit_open' };
  }

  // 4. Provider, 5. parse, 6. ledger.
  const isLocal = engine.provider === 'local';
  const timeoutMs = engineTimeout(engine, ctx.timeoutMs);
  const callStarted = performance.now();
  let usage: TokenUsage = { ...ZERO_USAGE };
  try {
    const response = await withDeadline(timeoutMs, request.signal, (signal) =>
      provider.call({ engine, project, item: request.item, messages, timeoutMs, signal }),
    );
    usage = isLocal ? { ...ZERO_USAGE } : response.usage;
    const parsed = parseModelOutput(response.text, project.labelSchema);
    const latencyMs = Math.round(performance.now() - callStarted);
    const costUsd = isLocal ? '0' : computeCostUsd(usage, engine);
    ctx.breaker.onSuccess(engine.id);
    ctx.limiter.settle(engine.id, estimated, usage.promptTokens + usage.completionTokens);
    if (key) writeCache(ctx, cacheWriter!, key, engine, request, response.text, usage, ttl);
    await ledger(ctx, request, engine, { usage, costUsd, latencyMs, outcome: 'ok' });
    return { ok: true, result: result(engine, parsed, { latencyMs, cached: false, usage, costUsd }), answer: response.text };
  } catch (thrown) {
    const latencyMs = Math.round(performance.now() - callStarted);
    const callerAborted = request.signal?.aborted === true;
    const err = callerAborted ? new EngineCallError('error', 'aborted by caller') : asEngineCallError(thrown);
    if (err.usage && !isLocal) usage = err.usage;
    updateHealth(ctx, engine, err.outcome, callerAborted, err, options.retry === true);
    ctx.limiter.settle(engine.id, estimated, usage.promptTokens + usage.completionTokens);
    const costUsd = isLocal ? '0' : computeCostUsd(usage, engine);
    await ledger(ctx, request, engine, { usage, costUsd, latencyMs, outcome: err.outcome, error: err.message });
    if (callerAborted) throw abortReason(request.signal!);
    return { ok: false, reason: `${err.outcome}: ${err.message}`, outcome: err.outcome, status: err.details.status, retryAfterSeconds: err.details.retryAfterSeconds };
  }
}

/** Breaker and limiter bookkeeping after a failed call. */
function updateHealth(ctx: AttemptContext, engine: EngineRecord, outcome: FailureOutcome, callerAborted: boolean, err: EngineCallError, retry: boolean): void {
  if (callerAborted || outcome === 'rate_limited') ctx.breaker.release(engine.id);
  else if (outcome === 'invalid_output') ctx.breaker.onSuccess(engine.id); // it answered: the engine is up
  else if (retry) ctx.breaker.onRetryFailure(engine.id);
  else ctx.breaker.onFailure(engine.id);
  const retryAfter = err.details.retryAfterSeconds;
  if (outcome === 'rate_limited' && retryAfter !== undefined) ctx.limiter.pause(engine.id, retryAfter);
}

function circuitOpenReason(ctx: AttemptContext, engine: EngineRecord): string {
  const ms = ctx.breaker.retryInMs(engine.id);
  return `circuit_open: ${ctx.breaker.failureThreshold} consecutive failures${ms > 0 ? `, next probe in ${Math.ceil(ms / 1000)}s` : ''}`;
}

function result(
  engine: EngineRecord,
  parsed: ParsedOutput,
  rest: { latencyMs: number; cached: boolean; usage: TokenUsage; costUsd: string },
): Omit<GenerateResult, 'failedAttempts'> {
  return { value: parsed.value, confidence: parsed.confidence, engineId: engine.id, model: engine.model, ...rest };
}

function tryParse(text: string, request: GenerateRequest): ParsedOutput | null {
  try {
    return parseModelOutput(text, request.project.labelSchema);
  } catch {
    return null; // a stale entry that no longer fits the schema: call the engine instead
  }
}

async function readCache(ctx: AttemptContext, key: string): Promise<string | null> {
  const remembered = ctx.memoryCache?.get(key) ?? ctx.cacheWriter?.pending(key);
  if (remembered) return remembered;
  try {
    const hit = await cacheGet(ctx.db, key);
    if (hit) ctx.memoryCache?.set(key, hit.text, hit.expiresAt);
    return hit?.text ?? null;
  } catch (err) {
    ctx.logger?.warn({ err }, 'llm cache read failed; calling the engine');
    return null;
  }
}

function writeCache(ctx: AttemptContext, writer: CacheWriter, key: string, engine: EngineRecord, request: GenerateRequest, text: string, usage: TokenUsage, ttl: number): void {
  const put = writer.put(
    key,
    { tenantId: request.project.tenantId, engineId: engine.id, model: engine.model, responseText: text, promptTokens: usage.promptTokens, completionTokens: usage.completionTokens },
    ttl,
  );
  if (put) ctx.memoryCache?.set(key, text, put.expiresAt);
}

async function ledger(
  ctx: AttemptContext,
  request: GenerateRequest,
  engine: EngineRecord,
  e: { usage: TokenUsage; costUsd: string; latencyMs: number; outcome: UsageEntry['outcome']; error?: string; cached?: boolean },
): Promise<void> {
  const entry: UsageEntry = {
    tenantId: request.project.tenantId,
    projectId: request.project.projectId,
    jobId: request.jobId,
    engineId: engine.id,
    model: engine.model,
    ...e,
  };
  countUsage(engine, entry);
  try {
    await (request.writes?.ledger ?? ctx.ledger).record(entry);
  } catch (err) {
    // The annotation is worth more than its ledger row: log loudly, keep the answer.
    ctx.logger?.error({ err, engineId: entry.engineId, outcome: entry.outcome }, 'llm usage ledger write failed');
  }
}

/** This process's Prometheus counters; the ledger table stays the system of record. */
function countUsage(engine: EngineRecord, entry: UsageEntry): void {
  const labels = { engine: engine.name };
  metrics.llmCalls.inc({ ...labels, outcome: entry.cached ? 'cached' : entry.outcome });
  if (entry.cached) metrics.llmCacheHits.inc(labels);
  if (entry.usage.promptTokens) metrics.llmTokens.inc({ ...labels, kind: 'prompt' }, entry.usage.promptTokens);
  if (entry.usage.completionTokens) metrics.llmTokens.inc({ ...labels, kind: 'completion' }, entry.usage.completionTokens);
  if (entry.usage.cachedTokens) metrics.llmTokens.inc({ ...labels, kind: 'cached' }, entry.usage.cachedTokens);
  const cost = Number(entry.costUsd);
  if (cost > 0) metrics.llmCostUsd.inc(labels, cost);
}

function engineTimeout(engine: EngineRecord, fallback: number): number {
  const t = engine.params?.timeout_ms;
  return typeof t === 'number' && Number.isFinite(t) && t > 0 ? t : fallback;
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
