import type { EngineRecord } from '../../db/models';
import type { Switcher } from '../../llm/switcher';

/** Above this a successful probe is "degraded". */
export const DEFAULT_SLOW_MS = 2000;

export interface ProbeResult {
  status: 'healthy' | 'degraded' | 'down';
  latency_ms: number;
  error?: string;
  circuit: 'closed' | 'open' | 'half_open';
}

/**
 * POST /annotation/engines/{id}/health: the switcher's probe (a real call, recorded in the
 * ledger; see src/llm/probe.ts) read as a status. down: the call failed; degraded: it answered
 * but slower than `slowMs`, or the breaker is not closed; healthy otherwise.
 */
export async function probeEngine(
  switcher: Switcher,
  engine: EngineRecord,
  tenantId: string,
  opts: { slowMs?: number; timeoutMs?: number },
): Promise<ProbeResult> {
  const circuit = switcher.circuitBreaker.state(engine.id);
  const call = await switcher.probe(engine, { tenantId, timeoutMs: opts.timeoutMs });
  if (!call.ok) return { status: 'down', latency_ms: call.latencyMs, error: call.reason, circuit };
  const slow = call.latencyMs > (opts.slowMs ?? DEFAULT_SLOW_MS);
  return { status: slow || circuit !== 'closed' ? 'degraded' : 'healthy', latency_ms: call.latencyMs, circuit };
}
