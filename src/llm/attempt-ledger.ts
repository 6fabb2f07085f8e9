import { randomUUID } from 'node:crypto';
import type { EngineRecord } from '../db/models';
import { llmEngineLabels, metrics } from '../metrics';
import type { AttemptContext } from './attempt';
import { openUsageUnlessCached, type OpenCall, type OpenedCall, type Settlement, type UsageEntry } from './ledger';
import { retryLedgerWrite } from './ledger-retry';
import type { ChatMessage } from './prompt';
import { ZERO_USAGE } from './providers/types';
import { positiveLimit } from './rate-limiter';
import type { GenerateRequest } from './types';
import { settleDeadlineMs, upperBoundCostUsd } from './write-ahead';

/**
 * An attempt's rows in the `llm_usage` ledger (src/llm/ledger.ts): the row a provider call opens
 * before it is made (alone, or with the cache read that missed), its settlement, a cache hit's
 * row, and the counters the rows feed. attempt.ts decides when; this file writes.
 */

export const DEFAULT_LEDGER_SETTLE_MARGIN_MS = 30_000;

/** The reason of an attempt whose ledger row could not be written (the database error itself is logged, not returned). */
export const LEDGER_UNAVAILABLE_REASON = 'ledger_unavailable: usage ledger unavailable, provider not called';
/**
 * Whether this attempt's cache read may open its ledger row on a miss (one statement, not two):
 * a live call only (a batch's rows are opened by group commit), to an engine that would not wait
 * between the read and the call (no rate limit, not paused, circuit closed).
 */
export function opensOnMiss(ctx: AttemptContext, engine: EngineRecord, request: GenerateRequest): boolean {
  if (request.callSlot || engine.provider === 'local') return false;
  const limits = engine.rate_limit;
  if (positiveLimit(limits?.rpm) || positiveLimit(limits?.tpm) || ctx.limiter.pausedForMs(engine.id) > 0) return false;
  return !ctx.breaker.wouldRefuse(engine.id);
}

/**
 * The cache read that opens the call's row when it misses (openUsageUnlessCached). If that
 * statement fails, the entry is a miss and the row is opened on its own, later, with the same
 * call key: a statement that did commit unseen is not opened twice.
 */
export async function readCacheOrOpen(
  ctx: AttemptContext,
  request: GenerateRequest,
  engine: EngineRecord,
  messages: ChatMessage[],
  key: string,
  timeoutMs: number,
  callKey: string,
): Promise<{ hit: string | null; opened?: OpenedCall }> {
  try {
    const read = await openUsageUnlessCached(ctx.db, key, openCallOf(ctx, request, engine, messages, timeoutMs, 0, callKey));
    if (read.opened) return { hit: null, opened: read.opened };
    ctx.memoryCache?.set(key, read.hit.text, read.hit.expiresAt);
    return { hit: read.hit.text };
  } catch (err) {
    ctx.logger?.warn({ err }, 'llm cache read failed; calling the engine');
    return { hit: null };
  }
}

/**
 * A row opened with the cache read whose call is not made after all (the circuit opened, the
 * caller aborted in the limiter): settled at no cost, so nothing stays in flight. Answers `outcome`.
 */
export async function notCalled<T>(ctx: AttemptContext, engine: EngineRecord, opened: OpenedCall | undefined, outcome: T): Promise<T> {
  if (opened) {
    const settlement: Settlement = { usage: { ...ZERO_USAGE }, costUsd: '0', latencyMs: 0, outcome: 'error', error: 'not called' };
    await retryLedgerWrite(() => ctx.ledger.settle(opened, settlement), {
      onFailure: (err, attempt) => ctx.logger?.error({ err, engineId: engine.id, attempt }, 'llm usage ledger settle failed; retrying'),
    });
  }
  return outcome;
}

/** The row a provider call opens before it is made: in flight at its upper-bound cost, with its deadline. */
function openCallOf(ctx: AttemptContext, request: GenerateRequest, engine: EngineRecord, messages: ChatMessage[], timeoutMs: number, startWithinMs: number, callKey: string): OpenCall {
  const promptChars = messages.reduce((n, m) => n + m.content.length, 0);
  const margin = ctx.ledgerSettleMarginMs ?? DEFAULT_LEDGER_SETTLE_MARGIN_MS;
  return {
    key: callKey,
    ...scopeOf(request, engine),
    costUpperUsd: upperBoundCostUsd({ promptChars, messages: messages.length }, engine),
    deadlineMs: settleDeadlineMs(startWithinMs + timeoutMs, margin),
  };
}

/**
 * The row of a provider call, before the call: in flight at the call's upper-bound cost. Retried
 * with backoff for as long as the call itself may take (and the caller waits); if it still
 * cannot be written the call is not made — an unrecorded paid call is what this prevents.
 */
export async function openLedgerRow(
  ctx: AttemptContext,
  request: GenerateRequest,
  engine: EngineRecord,
  messages: ChatMessage[],
  timeoutMs: number,
  /** How long the call may wait after the write before it starts (for a slot). */
  startWithinMs = 0,
  /** The call's key: an open retried with the same key opens one row. */
  callKey: string | undefined = randomUUID(),
): Promise<{ ok: true; call: OpenedCall } | { ok: false; reason: string }> {
  const open = openCallOf(ctx, request, engine, messages, timeoutMs, startWithinMs, callKey ?? randomUUID());
  try {
    const call = await retryLedgerWrite(() => ctx.ledger.open(open), {
      giveUpAt: Date.now() + timeoutMs,
      signal: request.signal,
      onFailure: (err, attempt) => ctx.logger?.warn({ err, engineId: engine.id, attempt }, 'llm usage ledger write before the call failed; retrying'),
    });
    return { ok: true, call };
  } catch (err) {
    ctx.logger?.error({ err, engineId: engine.id }, 'llm usage ledger unavailable; provider not called');
    return { ok: false, reason: LEDGER_UNAVAILABLE_REASON };
  }
}

/** Settles a call's row; retried until it succeeds or the process dies (then the sweeper settles it). */
export async function settleLedgerRow(ctx: AttemptContext, request: GenerateRequest, engine: EngineRecord, call: OpenedCall, s: Settlement): Promise<void> {
  countUsage(engine, { ...scopeOf(request, engine), ...s });
  const ledger = request.writes?.ledger ?? ctx.ledger;
  await retryLedgerWrite(() => ledger.settle(call, s), {
    onFailure: (err, attempt) => ctx.logger?.error({ err, engineId: engine.id, outcome: s.outcome, attempt }, 'llm usage ledger settle failed; retrying'),
  });
}

/**
 * A cache hit's row (no provider call, cost 0), settled at once. Retried like a pre-call write;
 * if the database stays down the answer is still given — no money moved — and the loss is logged.
 */
export async function recordCacheHit(ctx: AttemptContext, request: GenerateRequest, engine: EngineRecord, latencyMs: number, timeoutMs: number): Promise<void> {
  const entry: UsageEntry = { ...scopeOf(request, engine), usage: { ...ZERO_USAGE }, costUsd: '0', latencyMs, outcome: 'ok', cached: true };
  countUsage(engine, entry);
  const ledger = request.writes?.ledger ?? ctx.ledger;
  try {
    await retryLedgerWrite(() => ledger.record(entry), { giveUpAt: Date.now() + timeoutMs, signal: request.signal });
  } catch (err) {
    ctx.logger?.error({ err, engineId: entry.engineId }, 'llm usage ledger write of a cache hit failed');
  }
}

function scopeOf(request: GenerateRequest, engine: EngineRecord) {
  return { tenantId: request.project.tenantId, projectId: request.project.projectId, jobId: request.jobId, engineId: engine.id, model: engine.model };
}

/**
 * This process's Prometheus counters; the ledger table stays the system of record. Labelled by
 * engine id, never the tenant-chosen name (which would show on an unauthorised scrape).
 */
function countUsage(engine: EngineRecord, entry: Settlement & { cached?: boolean }): void {
  const labels = llmEngineLabels(engine);
  metrics.llmCalls.inc({ ...labels, outcome: entry.cached ? 'cached' : entry.outcome });
  if (entry.cached) metrics.llmCacheHits.inc(labels);
  if (entry.usage.promptTokens) metrics.llmTokens.inc({ ...labels, kind: 'prompt' }, entry.usage.promptTokens);
  if (entry.usage.completionTokens) metrics.llmTokens.inc({ ...labels, kind: 'completion' }, entry.usage.completionTokens);
  if (entry.usage.cachedTokens) metrics.llmTokens.inc({ ...labels, kind: 'cached' }, entry.usage.cachedTokens);
  const cost = Number(entry.costUsd);
  if (cost > 0) metrics.llmCostUsd.inc(labels, cost);
}

