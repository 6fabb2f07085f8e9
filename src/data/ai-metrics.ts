import type { Knex } from 'knex';
import { Engine } from '../db/models';
import { UUID_PATTERN } from '../formats';

/** Per engine and source: how many annotations, how many failed, and their confidence. */
export interface AnnotationCounts {
  engine_id: string | null;
  source: 'ai' | 'human';
  n: number;
  failed: number;
  /** numeric: pg returns it as a string (null without confidences). */
  conf_sum: string | null;
  conf_n: number;
}

/** Per engine: AI annotations of items that also have a human annotation, and how many agree. */
export interface ReviewCounts {
  engine_id: string | null;
  reviewed: number;
  agreed: number;
}

/** Per engine: suggestions, their confidence and the feedback they got. */
export interface SuggestionCounts {
  engine_id: string | null;
  n: number;
  conf_sum: string | null;
  accepted: number;
  modified: number;
  rejected: number;
}

/** Per engine and suggested label: the feedback suggestions got. */
export interface LabelCounts {
  engine_id: string | null;
  label: string;
  n: number;
  accepted: number;
  modified: number;
  rejected: number;
}

/** The ledger over the whole scope, in the columns `usageOf` reads. */
export interface LedgerTotals {
  calls: number;
  errors: number;
  prompt_tokens: string;
  completion_tokens: string;
  cost_usd: string;
  mean_latency_ms: string | null;
  cache_hits: number;
}

export interface AiMetricRows {
  annotations: AnnotationCounts[];
  reviews: ReviewCounts[];
  suggestions: SuggestionCounts[];
  labels: LabelCounts[];
  totals: LedgerTotals;
}

/** `tenant_id = ? [AND project_id IN (...)]` for an alias. */
function scopeSql(alias: string, tenantId: string, projectIds: string[] | undefined): { sql: string; bindings: Knex.RawBinding[] } {
  if (!projectIds) return { sql: `${alias}.tenant_id = ?`, bindings: [tenantId] };
  if (!projectIds.length) return { sql: 'false', bindings: [] };
  return { sql: `${alias}.tenant_id = ? AND ${alias}.project_id IN (${projectIds.map(() => '?').join(',')})`, bindings: [tenantId, ...projectIds] };
}

/**
 * The counts behind GET /annotation/metrics for a tenant, or some of its projects: five
 * aggregate queries, run together. Per-engine ledger usage is `usageByEngine`'s.
 */
export async function loadAiMetricRows(db: Knex, tenantId: string, projectIds: string[] | undefined): Promise<AiMetricRows> {
  const a = scopeSql('a', tenantId, projectIds);
  const s = scopeSql('s', tenantId, projectIds);
  const u = scopeSql('u', tenantId, projectIds);
  const [annotations, reviews, suggestions, labels, totals] = await Promise.all([
    db.raw(
      `SELECT a.engine_id, a.source,
              count(*)::int AS n,
              count(*) FILTER (WHERE a.status = 'failed' OR a.value IS NULL)::int AS failed,
              sum(a.confidence) FILTER (WHERE a.status <> 'failed' AND a.confidence IS NOT NULL) AS conf_sum,
              count(a.confidence) FILTER (WHERE a.status <> 'failed')::int AS conf_n
         FROM annotations a WHERE ${a.sql} GROUP BY a.engine_id, a.source`,
      a.bindings,
    ),
    db.raw(
      `SELECT a.engine_id, count(*)::int AS reviewed, count(*) FILTER (WHERE h.value = a.value)::int AS agreed
         FROM annotations a
         JOIN LATERAL (SELECT h.value FROM annotations h
                        WHERE h.item_id = a.item_id AND h.source = 'human' AND h.value IS NOT NULL
                        ORDER BY h.updated_at DESC LIMIT 1) h ON true
        WHERE ${a.sql} AND a.source = 'ai' AND a.status <> 'failed' AND a.value IS NOT NULL
        GROUP BY a.engine_id`,
      a.bindings,
    ),
    db.raw(
      `SELECT s.engine_id, count(*)::int AS n, sum(s.confidence) AS conf_sum,
              count(*) FILTER (WHERE s.feedback_action = 'accept')::int AS accepted,
              count(*) FILTER (WHERE s.feedback_action = 'modify')::int AS modified,
              count(*) FILTER (WHERE s.feedback_action = 'reject')::int AS rejected
         FROM suggestions s WHERE ${s.sql} GROUP BY s.engine_id`,
      s.bindings,
    ),
    db.raw(
      `SELECT s.engine_id, l.label, count(*)::int AS n,
              count(*) FILTER (WHERE s.feedback_action = 'accept')::int AS accepted,
              count(*) FILTER (WHERE s.feedback_action = 'modify')::int AS modified,
              count(*) FILTER (WHERE s.feedback_action = 'reject')::int AS rejected
         FROM suggestions s
         CROSS JOIN LATERAL (
           SELECT s.value->>'label' AS label WHERE jsonb_typeof(s.value->'label') = 'string'
           UNION ALL
           SELECT x FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(s.value->'labels') = 'array' THEN s.value->'labels' ELSE '[]'::jsonb END) x
         ) l
        WHERE ${s.sql}
        GROUP BY s.engine_id, l.label ORDER BY s.engine_id, l.label`,
      s.bindings,
    ),
    db.raw(
      `SELECT count(*)::int AS calls, count(*) FILTER (WHERE outcome NOT IN ('ok', 'in_flight'))::int AS errors,
              coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens, coalesce(sum(completion_tokens), 0)::bigint AS completion_tokens,
              coalesce(sum(cost_usd), 0)::text AS cost_usd, avg(latency_ms) FILTER (WHERE NOT cached AND state = 'settled') AS mean_latency_ms,
              count(*) FILTER (WHERE cached)::int AS cache_hits
         FROM llm_usage u WHERE ${u.sql}`,
      u.bindings,
    ),
  ]);
  return {
    annotations: annotations.rows,
    reviews: reviews.rows,
    suggestions: suggestions.rows,
    labels: labels.rows,
    totals: totals.rows[0],
  };
}

/** Engine names by id, for any engine (a deleted or foreign one is simply absent). */
export async function loadEngineNames(db: Knex, engineIds: string[]): Promise<Map<string, string>> {
  const ids = engineIds.filter((id) => UUID_PATTERN.test(id));
  if (!ids.length) return new Map();
  const rows = await Engine.query(db).whereIn('id', ids).select('id', 'name');
  return new Map(rows.map((r) => [r.id, r.name]));
}
