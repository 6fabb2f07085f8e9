import type { Knex } from 'knex';
import { groupCommit } from '../db/group-commit';
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
 * statement, so a job's spend always equals the sum of its ledger rows (budgets read it).
 */
export async function recordUsage(db: Knex, entry: UsageEntry): Promise<void> {
  await recordUsageBatch(db, [entry]);
}

/**
 * Writes ledger rows and adds each job's share to `jobs.cost_usd`, in ONE statement (one round
 * trip, all or nothing). The job total adds the costs as the rows store them (RETURNING), so it
 * stays exactly their sum. A batch without cost takes no lock on any job's row, which every
 * concurrent call of a job would otherwise queue on.
 */
export async function recordUsageBatch(db: Knex, entries: UsageEntry[]): Promise<void> {
  if (!entries.length) return;
  const insert = db('llm_usage').insert(entries.map(usageRow)).returning(['job_id', 'cost_usd']).toSQL();
  await db.raw(
    `WITH rows AS (${insert.sql}),
          spend AS (SELECT job_id, sum(cost_usd) AS cost FROM rows WHERE job_id IS NOT NULL GROUP BY job_id)
     UPDATE jobs SET cost_usd = jobs.cost_usd + spend.cost FROM spend WHERE jobs.id = spend.job_id AND spend.cost <> 0`,
    insert.bindings,
  );
}

export interface LedgerWriter {
  /** Resolves once the row is written (with its job's cost), rejects if it could not be. */
  record(entry: UsageEntry): Promise<void>;
}

/** The ledger's writer: rows by group commit (see src/db/group-commit.ts), one statement per batch. */
export function createLedgerWriter(db: Knex, maxBatch = 200): LedgerWriter {
  const writer = groupCommit<UsageEntry>((entries) => recordUsageBatch(db, entries), maxBatch);
  return { record: (entry) => writer.add(entry) };
}

/**
 * The insert of ledger rows without a job, to run inside the caller's own statement (e.g.
 * writeWithEvent). Rows of a job must go through recordUsage, which keeps `jobs.cost_usd` in step.
 */
export function usageInsert(db: Knex, entries: UsageEntry[]): Knex.QueryBuilder {
  if (!entries.length) throw new Error('usageInsert: no rows');
  if (entries.some((e) => uuidOrNull(e.jobId))) throw new Error('usageInsert: rows of a job go through recordUsage');
  return db('llm_usage').insert(entries.map(usageRow));
}

function usageRow(entry: UsageEntry) {
  return {
    tenant_id: entry.tenantId,
    // uuid columns: an id that is not a UUID (a caller's free-form key) is left out, not fatal.
    project_id: uuidOrNull(entry.projectId),
    job_id: uuidOrNull(entry.jobId),
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
  };
}

function uuidOrNull(v: string | null | undefined): string | null {
  return v && UUID.test(v) ? v : null;
}

function int(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.min(2_147_483_647, Math.round(n)) : 0;
}
