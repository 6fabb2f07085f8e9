import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import { computeCostUsd } from './cost';
import type { EngineRecord } from './engine-store';
import { asEngineCallError, EngineCallError, timeoutError } from './errors';
import { recordUsage, type UsageEntry } from './ledger';
import { parseModelOutput } from './parse';
import { buildMessages, type ChatMessage } from './prompt';
import { localProvider } from './providers/local';
import { createOpenAIProvider } from './providers/openai';
import type { Provider, ProviderResponse } from './providers/types';
import { ZERO_USAGE } from './providers/types';
import { resolveRoute } from './route';
import {
  AllEnginesFailedError,
  type EngineAttemptFailure,
  type GenerateRequest,
  type GenerateResult,
  type LlmSwitcher,
  type TokenUsage,
} from './types';

/** pino-compatible; only what the switcher uses. */
export interface SwitcherLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SwitcherOptions {
  db: Knex;
  /** Per engine call; an engine's `params.timeout_ms` overrides it. */
  timeoutMs: number;
  logger?: SwitcherLogger;
  /** Provider adapters by `engines.provider`; defaults: local and openai. */
  providers?: Partial<Record<string, Provider>>;
}

/**
 * The LLM switcher: for each engine of the route, call the provider, parse and validate the
 * answer against the label schema, and write one ledger row per call; on any failure (error,
 * timeout, 429, invalid output) record why and move to the next engine. Every engine failing is
 * an AllEnginesFailedError listing every attempt.
 */
export function createSwitcher(options: SwitcherOptions): LlmSwitcher {
  const { db, logger } = options;
  const providers: Partial<Record<string, Provider>> = {
    local: localProvider,
    openai: createOpenAIProvider(),
    ...options.providers,
  };

  async function generate(request: GenerateRequest): Promise<GenerateResult> {
    const { project } = request;
    if (!project?.labelSchema?.labels?.length) throw new Error('generate: the project has no labels');
    const route = await resolveRoute(db, project.tenantId, request.engineId, request.fallbackEngineIds ?? []);
    const messages = buildMessages({ project, item: request.item, instructions: request.instructions });
    const failures: EngineAttemptFailure[] = [];

    for (const step of route) {
      throwIfAborted(request.signal);
      if ('skipReason' in step) {
        failures.push({ engineId: step.engineId, reason: step.skipReason });
        continue;
      }
      const { engine } = step;
      const provider = providers[engine.provider];
      if (!provider) {
        failures.push({ engineId: engine.id, reason: `unsupported: provider "${engine.provider}" is not available` });
        continue;
      }
      const outcome = await attempt(provider, engine, request, messages);
      if (outcome.ok) return { ...outcome.result, failedAttempts: failures };
      failures.push({ engineId: engine.id, reason: outcome.reason });
      logger?.warn({ engineId: engine.id, projectId: project.projectId, reason: outcome.reason }, 'llm engine failed; trying the next');
    }
    throw new AllEnginesFailedError(failures);
  }

  type AttemptOutcome = { ok: true; result: Omit<GenerateResult, 'failedAttempts'> } | { ok: false; reason: string };

  /** One engine: provider call under a timeout → parse → cost → ledger. */
  async function attempt(provider: Provider, engine: EngineRecord, request: GenerateRequest, messages: ChatMessage[]): Promise<AttemptOutcome> {
    const timeoutMs = engineTimeout(engine, options.timeoutMs);
    const started = performance.now();
    const isLocal = engine.provider === 'local';
    let usage: TokenUsage = { ...ZERO_USAGE };
    try {
      const response = await withTimeout(timeoutMs, request.signal, (signal) =>
        provider.call({ engine, project: request.project, item: request.item, messages, timeoutMs, signal }),
      );
      usage = isLocal ? { ...ZERO_USAGE } : response.usage;
      const parsed = parseModelOutput(response.text, request.project.labelSchema);
      const latencyMs = Math.round(performance.now() - started);
      const costUsd = isLocal ? '0' : computeCostUsd(usage, engine);
      await ledger({ request, engine, usage, costUsd, latencyMs, outcome: 'ok' });
      return {
        ok: true,
        result: { value: parsed.value, confidence: parsed.confidence, engineId: engine.id, model: engine.model, latencyMs, cached: false, usage, costUsd },
      };
    } catch (thrown) {
      const latencyMs = Math.round(performance.now() - started);
      const callerAborted = request.signal?.aborted === true;
      const err = callerAborted ? new EngineCallError('error', 'aborted by caller') : asEngineCallError(thrown);
      if (err.usage && !isLocal) usage = err.usage;
      const costUsd = isLocal ? '0' : computeCostUsd(usage, engine);
      await ledger({ request, engine, usage, costUsd, latencyMs, outcome: err.outcome, error: err.message });
      if (callerAborted) throw abortReason(request.signal!);
      return { ok: false, reason: `${err.outcome}: ${err.message}` };
    }
  }

  async function ledger(e: { request: GenerateRequest; engine: EngineRecord; usage: TokenUsage; costUsd: string; latencyMs: number; outcome: UsageEntry['outcome']; error?: string }) {
    const entry: UsageEntry = {
      tenantId: e.request.project.tenantId,
      projectId: e.request.project.projectId,
      jobId: e.request.jobId,
      engineId: e.engine.id,
      model: e.engine.model,
      usage: e.usage,
      costUsd: e.costUsd,
      latencyMs: e.latencyMs,
      outcome: e.outcome,
      error: e.error ?? null,
    };
    try {
      await recordUsage(db, entry);
    } catch (err) {
      // The annotation is worth more than its ledger row: log loudly, keep the answer.
      logger?.error({ err, engineId: entry.engineId, outcome: entry.outcome }, 'llm usage ledger write failed');
    }
  }

  return { generate };
}

function engineTimeout(engine: EngineRecord, fallback: number): number {
  const t = engine.params?.timeout_ms;
  return typeof t === 'number' && Number.isFinite(t) && t > 0 ? t : fallback;
}

/**
 * Runs `fn` with a signal that aborts after `ms` (or when the caller's signal does) and rejects
 * with a timeout EngineCallError at the deadline even if `fn` ignores its signal.
 */
async function withTimeout(ms: number, callerSignal: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<ProviderResponse>): Promise<ProviderResponse> {
  const controller = new AbortController();
  const signal = callerSignal ? AbortSignal.any([controller.signal, callerSignal]) : controller.signal;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = timeoutError(ms);
      controller.abort(err);
      reject(err);
    }, ms);
    onAbort = () => reject(abortReason(callerSignal!));
    callerSignal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([fn(signal), deadline]);
  } catch (err) {
    // The provider may report our own abort as a generic abort error: it was the deadline.
    if (controller.signal.aborted && !callerSignal?.aborted) throw timeoutError(ms);
    throw err;
  } finally {
    clearTimeout(timer);
    if (onAbort) callerSignal?.removeEventListener('abort', onAbort);
    deadline.catch(() => undefined);
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
