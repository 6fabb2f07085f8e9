import type { Knex } from 'knex';
import type { Principal } from '../../auth/jwt';
import { loadVisibleEngines } from '../../llm/engine-store';
import type { Switcher } from '../../llm/switcher';
import type { FieldIssue } from '../errors';
import { validationFailed } from '../errors';

/** An `engines` row as read for the API (json columns parsed by pg). */
export interface EngineRow {
  id: string;
  tenant_id: string | null;
  name: string;
  provider: string;
  model: string;
  base_url: string | null;
  api_key_env: string | null;
  params: Record<string, unknown> | null;
  price_input_per_1k: string;
  price_output_per_1k: string;
  rate_limit: { rpm?: number; tpm?: number } | null;
  fallback_engine_ids: string[] | null;
  enabled: boolean;
  created_at: Date | string | null;
  updated_at: Date | string | null;
}

export interface UsageStats {
  calls: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  tokens: number;
  cost_usd: string;
  mean_latency_ms: number | null;
  cache_hits: number;
}

export const EMPTY_USAGE: UsageStats = {
  calls: 0,
  errors: 0,
  prompt_tokens: 0,
  completion_tokens: 0,
  tokens: 0,
  cost_usd: '0',
  mean_latency_ms: null,
  cache_hits: 0,
};

/** Engines the tenant may see: its own and the built-ins (tenant_id NULL). */
export function visibleEngines(db: Knex, tenantId: string): Knex.QueryBuilder {
  return db('engines').where((q) => q.where('tenant_id', tenantId).orWhereNull('tenant_id'));
}

export async function findVisibleEngine(db: Knex, tenantId: string, id: string): Promise<EngineRow | undefined> {
  return visibleEngines(db, tenantId).andWhere('id', id).first();
}

/**
 * Usage per engine from the `llm_usage` ledger, for this tenant only (a built-in engine's calls
 * by other tenants are theirs), optionally restricted to some projects. `cost_usd` is the exact
 * numeric sum as text, counting rows as they stand (as budgets do): calls in flight and calls of
 * unknown outcome at their upper bound. `calls` counts them too; `errors` counts settled failures
 * and unknown outcomes, not calls still in flight; latency is the settled calls'.
 */
export async function usageByEngine(
  db: Knex,
  tenantId: string,
  opts: { engineIds?: string[]; projectIds?: string[]; jobId?: string } = {},
): Promise<Map<string, UsageStats>> {
  const q = db('llm_usage')
    .where('tenant_id', tenantId)
    .whereNotNull('engine_id')
    .groupBy('engine_id')
    .select(
      'engine_id',
      db.raw('count(*)::int AS calls'),
      db.raw(`count(*) FILTER (WHERE outcome NOT IN ('ok', 'in_flight'))::int AS errors`),
      db.raw('coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens'),
      db.raw('coalesce(sum(completion_tokens), 0)::bigint AS completion_tokens'),
      db.raw('coalesce(sum(cost_usd), 0)::text AS cost_usd'),
      db.raw(`avg(latency_ms) FILTER (WHERE NOT cached AND state = 'settled') AS mean_latency_ms`),
      db.raw('count(*) FILTER (WHERE cached)::int AS cache_hits'),
    );
  if (opts.engineIds) q.whereIn('engine_id', opts.engineIds);
  if (opts.projectIds) q.whereIn('project_id', opts.projectIds);
  if (opts.jobId) q.where('job_id', opts.jobId);
  const rows: Record<string, any>[] = await q;
  return new Map(rows.map((r) => [String(r.engine_id), usageOf(r)]));
}

export function usageOf(r: Record<string, any>): UsageStats {
  const prompt = Number(r.prompt_tokens ?? 0);
  const completion = Number(r.completion_tokens ?? 0);
  return {
    calls: Number(r.calls ?? 0),
    errors: Number(r.errors ?? 0),
    prompt_tokens: prompt,
    completion_tokens: completion,
    tokens: prompt + completion,
    cost_usd: trimDecimal(String(r.cost_usd ?? '0')),
    mean_latency_ms: r.mean_latency_ms === null || r.mean_latency_ms === undefined ? null : round1(Number(r.mean_latency_ms)),
    cache_hits: Number(r.cache_hits ?? 0),
  };
}

/** "0.0012300000" → "0.00123"; "5.0000000000" → "5". The value is unchanged. */
export function trimDecimal(s: string): string {
  if (!s.includes('.')) return s;
  const t = s.replace(/0+$/, '').replace(/\.$/, '');
  return t === '' || t === '-' ? '0' : t;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/** The breaker's view of an engine. */
export function healthOf(switcher: Switcher | undefined, engineId: string) {
  const circuit = switcher?.circuitBreaker.state(engineId) ?? 'closed';
  const status = circuit === 'closed' ? 'healthy' : circuit === 'half_open' ? 'degraded' : 'down';
  return { status, circuit, retry_in_ms: switcher?.circuitBreaker.retryInMs(engineId) ?? 0 } as const;
}

/**
 * Every engine id must exist and be visible to the principal's tenant; `selfId` may not appear.
 * Throws a 422 naming each offending `field.i`.
 */
export async function assertUsableEngines(
  db: Knex,
  principal: Principal,
  wanted: { id: string; field: string }[],
  selfId?: string,
): Promise<void> {
  if (!wanted.length) return;
  const found = await loadVisibleEngines(db, principal.tenantId, wanted.map((w) => w.id));
  const issues: FieldIssue[] = [];
  for (const w of wanted) {
    if (selfId && w.id.toLowerCase() === selfId.toLowerCase()) issues.push({ field: w.field, message: 'an engine cannot fall back to itself' });
    else if (!found.has(w.id.toLowerCase())) issues.push({ field: w.field, message: `engine ${w.id} not found` });
  }
  if (issues.length) throw validationFailed(issues);
}
