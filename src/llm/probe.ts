import { callProvider, engineTimeout, unsupportedReason, type AttemptContext } from './attempt';
import { openLedgerRow, settleLedgerRow } from './attempt-ledger';
import type { EngineRecord } from '../db/models';
import { buildMessages } from './prompt';
import type { GenerateRequest } from './types';

/** A probe waits at most this long unless asked otherwise (an engine's own timeout may be shorter). */
export const DEFAULT_PROBE_TIMEOUT_MS = 15_000;

export type ProbeCall = { ok: true; latencyMs: number } | { ok: false; reason: string; latencyMs: number };

export interface ProbeOptions {
  /** Whose ledger the call goes in (a probe has no project). */
  tenantId: string;
  /** Default: the engine's timeout, at most DEFAULT_PROBE_TIMEOUT_MS. */
  timeoutMs?: number;
}

/**
 * One real call to one engine with a tiny classification prompt ("ping" → label "ok"), for the
 * health probe. What makes it a probe is what it leaves out: no route, no cache, no rate limiter,
 * and the circuit breaker is neither asked (an open circuit can be probed) nor moved (a probe is
 * not traffic). The call itself is every call's (attempt.ts): its ledger row ahead — no row, no
 * call — the provider under a deadline, the answer parsed against the schema, priced and settled.
 */
export async function probeCall(ctx: AttemptContext, engine: EngineRecord, options: ProbeOptions): Promise<ProbeCall> {
  const provider = ctx.providers[engine.provider];
  if (!provider) return { ok: false, reason: unsupportedReason(engine), latencyMs: 0 };
  const request: GenerateRequest = {
    project: {
      tenantId: options.tenantId,
      projectId: '',
      labelSchema: { type: 'single_label', labels: ['ok', 'error'] },
      guidelines: 'Health check: answer "ok".',
      examples: [],
    },
    engineId: engine.id,
    item: { text: 'ping' },
  };
  const messages = buildMessages({ project: request.project, item: request.item });
  const timeoutMs = options.timeoutMs ?? Math.min(engineTimeout(engine, ctx.timeoutMs), DEFAULT_PROBE_TIMEOUT_MS);
  const opened = await openLedgerRow(ctx, request, engine, messages, timeoutMs);
  if (!opened.ok) return { ok: false, reason: opened.reason, latencyMs: 0 };
  const call = await callProvider(ctx, provider, engine, request, messages, timeoutMs, opened.call.id);
  const { usage, costUsd, latencyMs } = call;
  if (call.ok) {
    await settleLedgerRow(ctx, request, engine, opened.call, { usage, costUsd, latencyMs, outcome: 'ok' });
    return { ok: true, latencyMs };
  }
  // A probe's row keeps the failure class in its error (`class: message`), as it always has.
  await settleLedgerRow(ctx, request, engine, opened.call, { usage, costUsd, latencyMs, outcome: call.err.outcome, error: call.err.reason });
  return { ok: false, reason: call.err.reason, latencyMs };
}
