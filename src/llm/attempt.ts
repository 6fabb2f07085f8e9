import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import { cacheGet, cacheKey, cacheTtlSeconds, type CacheWriter } from './cache';
import type { CircuitBreaker } from './circuit-breaker';
import { computeCostUsd } from './cost';
import type { EngineRecord } from '../db/models';
import { asEngineCallError, EngineCallError, type FailureClass, type FailureOutcome } from './errors';
import { notCalled, openLedgerRow, opensOnMiss, readCacheOrOpen, recordCacheHit, settleLedgerRow } from './attempt-ledger';
import type { LedgerWriter, OpenedCall } from './ledger';
import type { MemoryCache } from './memory-cache';
import { parseModelOutput, type ParsedOutput } from './parse';
import type { ChatMessage } from './prompt';
import type { Provider } from './providers/types';
import { ZERO_USAGE } from './providers/types';
import { estimateTokens, type RateLimiter } from './rate-limiter';
import { withDeadline } from './deadline';
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
  /** A call's row may be settled by the sweeper this long after its timeout (default 30 s). */
  ledgerSettleMarginMs?: number;
  logger?: SwitcherLogger;
}


/** Failure classes whose raw cause is worth the operator's log. */
const RAW_CAUSE_LOGGED: ReadonlySet<FailureClass> = new Set(['connection_failed', 'provider_error', 'host_not_allowed']);

export type AttemptOutcome =
  /** `answer`: the raw answer text (what single flight hands to concurrent callers of the same key). */
  | { ok: true; result: Omit<GenerateResult, 'failedAttempts'>; answer: string }
  /** `outcome`, `status` and `retryAfterSeconds` are what the retry policy decides on. */
  | { ok: false; reason: string; outcome: AttemptFailureOutcome; failureClass?: FailureClass; status?: number; retryAfterSeconds?: number };

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
  if (ttl <= 0) return null;
  // A batch's lookup computed this engine's key already (hashing the prompt is not free).
  if (request.cacheHint?.engineId === engine.id) return request.cacheHint.key;
  const { project } = request;
  return cacheKey({ tenantId: project.tenantId, projectId: project.projectId, engine, messages, labelSchema: project.labelSchema });
}

/**
 * One engine of the route: cache → rate limiter → circuit breaker → provider (under a deadline)
 * → parse and validate → usage ledger. Every provider call and every cache hit writes one ledger
 * row; an engine skipped before calling (open circuit, unknown provider) writes none. A provider
 * call's row is written BEFORE the call (in flight, at its upper-bound cost) and settled after;
 * when that first write cannot be made the provider is not called. Throws only when the caller
 * aborts; any other failure is an `{ok: false, reason}` for the failover loop.
 */
export async function attemptEngine(
  ctx: AttemptContext,
  engine: EngineRecord,
  request: GenerateRequest,
  messages: ChatMessage[],
  options: AttemptOptions = {},
): Promise<AttemptOutcome> {
  const provider = ctx.providers[engine.provider];
  if (!provider) return { ok: false, reason: unsupportedReason(engine), outcome: 'unsupported' };
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);

  // 1. Cache.
  const cacheWriter = request.writes?.cache ?? ctx.cacheWriter;
  const ttl = cacheWriter ? cacheTtlSeconds(engine, ctx.cacheTtlSeconds) : 0;
  // A batch's lookup already read this engine's entry (a miss included): no second read.
  const hint = request.cacheHint?.engineId === engine.id ? request.cacheHint : undefined;
  const key = attemptCacheKey(ctx, engine, request, messages);
  const timeoutMs = engineTimeout(engine, ctx.timeoutMs);
  // A live call's cache read may open its ledger row on a miss in the same statement (opensOnMiss).
  let preOpened: OpenedCall | undefined;
  // The call's ledger key when the read may open its row: a later open after a failed read reuses it.
  let callKey: string | undefined;
  if (key) {
    let hit = options.joined ?? hint?.text ?? ctx.memoryCache?.get(key) ?? ctx.cacheWriter?.pending(key) ?? null;
    if (hit === null && !hint && options.joined === undefined) {
      if (opensOnMiss(ctx, engine, request)) callKey = randomUUID();
      const read = callKey ? await readCacheOrOpen(ctx, request, engine, messages, key, timeoutMs, callKey) : { hit: await readCache(ctx, key) };
      hit = read.hit;
      preOpened = read.opened;
    }
    const parsed = hit === null ? null : tryParse(hit, request);
    if (parsed) {
      const latencyMs = elapsed();
      await recordCacheHit(ctx, request, engine, latencyMs, timeoutMs);
      return { ok: true, result: result(engine, parsed, { latencyMs, cached: true, usage: { ...ZERO_USAGE }, costUsd: '0' }), answer: hit! };
    }
  }

  // 2. Rate limiter (waits), 3. circuit breaker (refuses; checked first so nobody queues for an open circuit).
  if (ctx.breaker.wouldRefuse(engine.id)) return notCalled(ctx, engine, preOpened, { ok: false, reason: circuitOpenReason(ctx, engine), outcome: 'circuit_open' });
  const promptChars = messages.reduce((n, m) => n + m.content.length, 0);
  const maxAnswer = typeof engine.params?.max_tokens === 'number' ? Math.min(engine.params.max_tokens, 256) : 50;
  const estimated = engine.provider === 'local' ? 0 : estimateTokens(promptChars, maxAnswer);
  try {
    await ctx.limiter.acquire(engine.id, engine.rate_limit, estimated, request.signal);
  } catch (err) {
    await notCalled(ctx, engine, preOpened, null);
    throw err;
  }
  if (!ctx.breaker.tryAcquire(engine.id)) {
    ctx.limiter.settle(engine.id, estimated, 0);
    return notCalled(ctx, engine, preOpened, { ok: false, reason: circuitOpenReason(ctx, engine), outcome: 'circuit_open' });
  }

  // 4. Ledger row ahead of the call, 5. provider, 6. parse, 7. settle the row.
  // A row opened ahead of its slot may wait about one call for it: its deadline allows for that.
  const opened = preOpened ? { ok: true as const, call: preOpened } : await openLedgerRow(ctx, request, engine, messages, timeoutMs, request.callSlot ? timeoutMs : 0, callKey);
  if (!opened.ok) {
    ctx.breaker.release(engine.id);
    ctx.limiter.settle(engine.id, estimated, 0);
    if (request.signal?.aborted) throw abortReason(request.signal);
    // The ledger could not take the row: a transient failure (the database), retried like one.
    return { ok: false, reason: opened.reason, outcome: 'error' };
  }
  const callOnce = () => callProvider(ctx, provider, engine, request, messages, timeoutMs, opened.call.id);
  const call = await (request.callSlot ? request.callSlot(callOnce) : callOnce());
  const { usage, costUsd, latencyMs } = call;
  if (call.ok) {
    ctx.breaker.onSuccess(engine.id);
    ctx.limiter.settle(engine.id, estimated, usage.promptTokens + usage.completionTokens);
    if (key) writeCache(ctx, cacheWriter!, key, engine, request, call.text, usage, ttl);
    await settleLedgerRow(ctx, request, engine, opened.call, { usage, costUsd, latencyMs, outcome: 'ok' });
    return { ok: true, result: result(engine, call.parsed, { latencyMs, cached: false, usage, costUsd }), answer: call.text };
  }
  const { err, callerAborted } = call;
  updateHealth(ctx, engine, err.outcome, callerAborted, err, options.retry === true);
  ctx.limiter.settle(engine.id, estimated, usage.promptTokens + usage.completionTokens);
  await settleLedgerRow(ctx, request, engine, opened.call, { usage, costUsd, latencyMs, outcome: err.outcome, error: err.message });
  if (callerAborted) throw abortReason(request.signal!);
  return { ok: false, reason: err.reason, outcome: err.outcome, failureClass: err.failureClass, status: err.details.status, retryAfterSeconds: err.details.retryAfterSeconds };
}

/** A provider call's end: its parsed answer, or its failure classified; usage and cost either way. */
export type ProviderCall = { usage: TokenUsage; costUsd: string; latencyMs: number } & (
  | { ok: true; text: string; parsed: ParsedOutput }
  | { ok: false; err: EngineCallError; callerAborted: boolean }
);

/**
 * 5. The provider under the call's deadline, 6. its answer parsed and validated against the
 * label schema, priced. A failed call may still have used tokens (they are priced too). Never
 * throws: a caller's abort is a failure with `callerAborted`.
 */
export async function callProvider(
  ctx: Pick<AttemptContext, 'logger'>,
  provider: Provider,
  engine: EngineRecord,
  request: GenerateRequest,
  messages: ChatMessage[],
  timeoutMs: number,
  usageId: string,
): Promise<ProviderCall> {
  const isLocal = engine.provider === 'local';
  const priced = (usage: TokenUsage) => (isLocal ? '0' : computeCostUsd(usage, engine));
  const started = performance.now();
  let usage: TokenUsage = { ...ZERO_USAGE };
  try {
    const response = await withDeadline(timeoutMs, request.signal, (signal) =>
      provider.call({ engine, project: request.project, item: request.item, messages, timeoutMs, signal, usageId }),
    );
    usage = isLocal ? { ...ZERO_USAGE } : response.usage;
    const parsed = parseModelOutput(response.text, request.project.labelSchema);
    const latencyMs = Math.round(performance.now() - started);
    return { ok: true, text: response.text, parsed, usage, costUsd: priced(usage), latencyMs };
  } catch (thrown) {
    const latencyMs = Math.round(performance.now() - started);
    const callerAborted = request.signal?.aborted === true;
    const err = callerAborted ? new EngineCallError('error', 'aborted by caller', { failureClass: 'aborted' }) : asEngineCallError(thrown);
    // Callers get the class only (no socket text, host or port); the operator's log gets the cause.
    if (!callerAborted && RAW_CAUSE_LOGGED.has(err.failureClass)) ctx.logger?.warn({ err: thrown, engineId: engine.id, failureClass: err.failureClass }, 'llm engine call failed');
    if (err.usage && !isLocal) usage = err.usage;
    return { ok: false, err, callerAborted, usage, costUsd: priced(usage), latencyMs };
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

/** An engine whose provider this switcher has no adapter for. */
export function unsupportedReason(engine: EngineRecord): string {
  return `unsupported: provider "${engine.provider}" is not available`;
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

/** The cache table's entry (a hit is remembered in memory); a failed read is a miss. */
async function readCache(ctx: AttemptContext, key: string): Promise<string | null> {
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

/** The engine's own `params.timeout_ms`, else the switcher's. */
export function engineTimeout(engine: EngineRecord, fallback: number): number {
  const t = engine.params?.timeout_ms;
  return typeof t === 'number' && Number.isFinite(t) && t > 0 ? t : fallback;
}

/** What an aborted call throws: the signal's own reason when it is an error. */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
