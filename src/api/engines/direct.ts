import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import { attemptEngine, DEFAULT_LEDGER_SETTLE_MARGIN_MS, LEDGER_UNAVAILABLE_REASON, type AttemptContext } from '../../llm/attempt';
import { computeCostUsd } from '../../llm/cost';
import { withDeadline } from '../../llm/deadline';
import type { EngineRecord } from '../../db/models';
import { asEngineCallError } from '../../llm/errors';
import { retryLedgerWrite } from '../../llm/ledger-retry';
import { settleDeadlineMs, upperBoundCostUsd } from '../../llm/write-ahead';
import { parseModelOutput } from '../../llm/parse';
import { buildMessages } from '../../llm/prompt';
import { ZERO_USAGE } from '../../llm/providers/types';
import type { Switcher } from '../../llm/switcher';
import type { GenerateRequest, ProjectContext, TokenUsage } from '../../llm/types';

/**
 * Calls one engine alone — no route, no fallbacks, no cache — for the health probe and for
 * engine comparison, where the question is "how does THIS engine answer". They still go through
 * the switcher's providers (so its egress policy, ENGINE_ALLOWED_HOSTS), rate limiter and
 * circuit breaker (compare), and always write the usage ledger.
 */

/** Above this a successful probe is "degraded". */
export const DEFAULT_SLOW_MS = 2000;
export const DEFAULT_PROBE_TIMEOUT_MS = 15_000;

export interface ProbeResult {
  status: 'healthy' | 'degraded' | 'down';
  latency_ms: number;
  error?: string;
  circuit: 'closed' | 'open' | 'half_open';
}

/**
 * A real call to the engine's provider with a tiny classification prompt ("ping" → label "ok"),
 * bypassing the cache and the breaker's admission (an open circuit can still be probed); the
 * answer must parse. down: the call failed; degraded: it answered but slower than `slowMs`, or the
 * breaker is not closed; healthy otherwise. The call is recorded in the ledger (no project).
 */
export async function probeEngine(
  db: Knex,
  switcher: Switcher,
  engine: EngineRecord,
  tenantId: string,
  opts: { slowMs?: number; timeoutMs?: number; defaultTimeoutMs: number; settleMarginMs?: number },
): Promise<ProbeResult> {
  const provider = switcher.providers[engine.provider];
  const circuit = switcher.circuitBreaker.state(engine.id);
  if (!provider) return { status: 'down', latency_ms: 0, error: `unsupported: provider "${engine.provider}" is not available`, circuit };
  const project: ProjectContext = {
    tenantId,
    projectId: '',
    labelSchema: { type: 'single_label', labels: ['ok', 'error'] },
    guidelines: 'Health check: answer "ok".',
    examples: [],
  };
  const item = { text: 'ping' };
  const messages = buildMessages({ project, item });
  const engineTimeout = typeof engine.params?.timeout_ms === 'number' ? (engine.params.timeout_ms as number) : opts.defaultTimeoutMs;
  const timeoutMs = opts.timeoutMs ?? Math.min(engineTimeout, DEFAULT_PROBE_TIMEOUT_MS);
  const isLocal = engine.provider === 'local';
  // The call's ledger row goes first (see attemptEngine): no row, no call.
  const scope = { tenantId, engineId: engine.id, model: engine.model };
  let opened;
  const key = crypto.randomUUID();
  try {
    opened = await retryLedgerWrite(
      () => switcher.ledger.open({ ...scope, key, costUpperUsd: upperBoundCostUsd({ promptChars: messages.reduce((n, m) => n + m.content.length, 0), messages: messages.length }, engine), deadlineMs: settleDeadlineMs(timeoutMs, opts.settleMarginMs ?? DEFAULT_LEDGER_SETTLE_MARGIN_MS) }),
      { giveUpAt: Date.now() + timeoutMs },
    );
  } catch {
    return { status: 'down', latency_ms: 0, error: LEDGER_UNAVAILABLE_REASON, circuit };
  }
  const started = performance.now();
  let usage: TokenUsage = { ...ZERO_USAGE };
  let outcome: 'ok' | 'error' | 'timeout' | 'rate_limited' | 'invalid_output' = 'ok';
  let error: string | undefined;
  try {
    const response = await withDeadline(timeoutMs, undefined, (signal) => provider.call({ engine, project, item, messages, timeoutMs, signal, usageId: opened.id }));
    usage = isLocal ? { ...ZERO_USAGE } : response.usage;
    parseModelOutput(response.text, project.labelSchema);
  } catch (thrown) {
    const err = asEngineCallError(thrown);
    if (err.usage && !isLocal) usage = err.usage;
    outcome = err.outcome;
    error = err.reason; // the failure class, never the raw socket error (see FailureClass)
  }
  const latency = Math.round(performance.now() - started);
  const settlement = { usage, costUsd: isLocal ? '0' : computeCostUsd(usage, engine), latencyMs: latency, outcome, error: error ?? null };
  await retryLedgerWrite(() => switcher.ledger.settle(opened, settlement)); // until it succeeds (else the sweeper settles it)
  if (error) return { status: 'down', latency_ms: latency, error, circuit };
  const slow = latency > (opts.slowMs ?? DEFAULT_SLOW_MS);
  return { status: slow || circuit !== 'closed' ? 'degraded' : 'healthy', latency_ms: latency, circuit };
}

/** An AttemptContext sharing the switcher's limiter and breaker, with the cache off. */
export function directContext(db: Knex, switcher: Switcher, timeoutMs: number): AttemptContext {
  return {
    db,
    providers: switcher.providers,
    limiter: switcher.rateLimiter,
    breaker: switcher.circuitBreaker,
    timeoutMs,
    cacheTtlSeconds: 0,
    ledger: switcher.ledger,
  };
}

/** One engine, one item, no fallback and no cache (see attemptEngine). */
export async function callEngineAlone(ctx: AttemptContext, engine: EngineRecord, request: Omit<GenerateRequest, 'engineId'>) {
  const full: GenerateRequest = { ...request, engineId: engine.id };
  const messages = buildMessages({ project: request.project, item: request.item, instructions: request.instructions });
  return attemptEngine({ ...ctx, cacheTtlSeconds: 0 }, { ...engine, params: { ...engine.params, cache: false } }, full, messages);
}
