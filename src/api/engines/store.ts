import type { Knex } from 'knex';
import type { Principal } from '../../auth/jwt';
import { Engine } from '../../db/models';
import { loadVisibleEngines } from '../../llm/engine-store';
import { usageOf, type UsageStats } from './presenter';
import type { FieldIssue } from '../errors';
import { validationFailed } from '../errors';

/** Engines the tenant may see: its own and the built-ins (tenant_id NULL). */
export function visibleEngines(db: Knex, tenantId: string) {
  return Engine.query(db).where((q) => q.where('tenant_id', tenantId).orWhereNull('tenant_id'));
}

export async function findVisibleEngine(db: Knex, tenantId: string, id: string): Promise<Engine | undefined> {
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
