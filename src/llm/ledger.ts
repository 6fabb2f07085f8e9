import type { Knex } from 'knex';
import type { TokenUsage } from './types';

export type UsageOutcome = 'ok' | 'error' | 'timeout' | 'rate_limited' | 'invalid_output';

/** One engine call, successful or not, as the `llm_usage` ledger records it. */
export interface UsageEntry {
  tenantId: string;
  projectId?: string | null;
  jobId?: string | null;
  engineId: string;
  model: string;
  usage: TokenUsage;
  costUsd: string;
  latencyMs: number;
  outcome: UsageOutcome;
  error?: string | null;
  cached?: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_ERROR_CHARS = 2000;

/**
 * Writes one ledger row. A row with a job also adds its cost to `jobs.cost_usd` in the same
 * transaction, so a job's spend always equals the sum of its ledger rows (budgets read it).
 */
export async function recordUsage(db: Knex, entry: UsageEntry): Promise<void> {
  const jobId = uuidOrNull(entry.jobId);
  // Nothing to add to the job (free engine, cache hit, no job): one insert, no transaction, and
  // no lock on the job's row, which every concurrent call of a job would otherwise queue on.
  if (!jobId || isZero(entry.costUsd)) return insertUsage(db, entry, jobId);
  await db.transaction(async (trx) => {
    await insertUsage(trx, entry, jobId);
    // Cast as the ledger column stores it, so the running total adds exactly what the row holds.
    if (jobId) await trx('jobs').where({ id: jobId }).update({ cost_usd: trx.raw('cost_usd + ?::numeric(20,10)', [entry.costUsd]) });
  });
}

async function insertUsage(db: Knex, entry: UsageEntry, jobId: string | null): Promise<void> {
  await db('llm_usage').insert({
    tenant_id: entry.tenantId,
    // uuid columns: an id that is not a UUID (a caller's free-form key) is left out, not fatal.
    project_id: uuidOrNull(entry.projectId),
    job_id: jobId,
    engine_id: uuidOrNull(entry.engineId),
    model: entry.model,
    prompt_tokens: int(entry.usage.promptTokens),
    completion_tokens: int(entry.usage.completionTokens),
    cached_tokens: int(entry.usage.cachedTokens),
    cost_usd: entry.costUsd,
    latency_ms: int(entry.latencyMs),
    outcome: entry.outcome,
    error: entry.error ? entry.error.slice(0, MAX_ERROR_CHARS) : null,
    cached: entry.cached ?? false,
  });
}

function isZero(decimal: string): boolean {
  return /^[+-]?0*(\.0*)?$/.test(decimal.trim());
}

function uuidOrNull(v: string | null | undefined): string | null {
  return v && UUID.test(v) ? v : null;
}

function int(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.min(2_147_483_647, Math.round(n)) : 0;
}
