import Router from '@koa/router';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { ApiContextExtras, ApiState } from '../deps';
import { defineRoute } from '../openapi';
import { findProjectForPrincipal } from '../scope';
import { EngineUsage } from '../engines/schema';
import { EMPTY_USAGE, trimDecimal, usageByEngine, usageOf, type UsageStats } from '../engines/store';
import { UUID_PATTERN } from '../../formats';

export const aiMetricsRouter = new Router<ApiState, ApiContextExtras>();

const MetricsQuery = z.object({ project_id: z.uuid().optional().meta({ description: 'One project; default every project the caller may see' }) });

const Feedback = z.object({ accepted: z.number().int(), modified: z.number().int(), rejected: z.number().int(), total: z.number().int(), acceptance_rate: z.number().nullable() });
const Reviews = z.object({
  reviewed: z.number().int().meta({ description: 'AI annotations of items that also have a human annotation' }),
  agreed: z.number().int().meta({ description: '…whose latest human value equals the AI value' }),
  acceptance_rate: z.number().nullable(),
});

const MetricsResponse = z
  .object({
    project_id: z.uuid().nullable(),
    total_annotations: z.number().int().meta({ description: 'Rows in annotations (AI and human)' }),
    ai_annotations: z.number().int().meta({ description: 'AI annotations that produced a value (failed ones excluded)' }),
    failed_ai_annotations: z.number().int(),
    human_annotations: z.number().int(),
    suggestions: z.number().int(),
    acceptance_rate: z.number().nullable().meta({ description: '(accepted feedback + agreeing reviews) / (feedback + reviews); null without either' }),
    feedback: Feedback,
    reviews: Reviews,
    mean_confidence: z.number().nullable().meta({ description: 'Over AI annotations and suggestions' }),
    cost_usd: z.string().meta({ description: 'Exact sum of cost_usd in the llm_usage ledger for this scope (calls still in flight, or of unknown outcome, at their upper-bound cost)' }),
    usage: EngineUsage,
    engines: z.array(
      z.object({
        engine_id: z.uuid(),
        name: z.string().nullable(),
        ai_annotations: z.number().int(),
        suggestions: z.number().int(),
        mean_confidence: z.number().nullable(),
        feedback: Feedback,
        reviews: Reviews,
        acceptance_rate: z.number().nullable(),
        usage: EngineUsage,
      }),
    ),
    labels: z
      .array(z.object({ engine_id: z.uuid().nullable(), label: z.string(), suggestions: z.number().int(), accepted: z.number().int(), modified: z.number().int(), rejected: z.number().int(), acceptance_rate: z.number().nullable() }))
      .meta({ description: 'Acceptance of suggestions per engine and suggested label' }),
  })
  .meta({ id: 'AiMetrics' });

function rate(num: number, den: number): number | null {
  return den > 0 ? Math.round((num / den) * 10_000) / 10_000 : null;
}

function feedbackOf(r: { accepted?: unknown; modified?: unknown; rejected?: unknown } | undefined) {
  const accepted = Number(r?.accepted ?? 0);
  const modified = Number(r?.modified ?? 0);
  const rejected = Number(r?.rejected ?? 0);
  const total = accepted + modified + rejected;
  return { accepted, modified, rejected, total, acceptance_rate: rate(accepted, total) };
}

/** `tenant_id = ? [AND project_id IN (...)]` for an alias. */
function scopeSql(alias: string, tenantId: string, projectIds: string[] | undefined): { sql: string; bindings: Knex.RawBinding[] } {
  if (!projectIds) return { sql: `${alias}.tenant_id = ?`, bindings: [tenantId] };
  if (!projectIds.length) return { sql: 'false', bindings: [] };
  return { sql: `${alias}.tenant_id = ? AND ${alias}.project_id IN (${projectIds.map(() => '?').join(',')})`, bindings: [tenantId, ...projectIds] };
}

export async function aiMetrics(db: Knex, tenantId: string, projectIds: string[] | undefined) {
  const a = scopeSql('a', tenantId, projectIds);
  const s = scopeSql('s', tenantId, projectIds);
  const u = scopeSql('u', tenantId, projectIds);
  const [annotations, reviews, suggestions, labels, totals, usage] = await Promise.all([
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
    usageByEngine(db, tenantId, projectIds ? { projectIds } : {}),
  ]);

  type Acc = { ai: number; suggestions: number; confSum: number; confN: number; feedback: ReturnType<typeof feedbackOf>; reviewed: number; agreed: number; usage: UsageStats };
  const engines = new Map<string, Acc>();
  const acc = (id: string | null): Acc | undefined => {
    if (!id) return undefined;
    let e = engines.get(id);
    if (!e) engines.set(id, (e = { ai: 0, suggestions: 0, confSum: 0, confN: 0, feedback: feedbackOf(undefined), reviewed: 0, agreed: 0, usage: { ...EMPTY_USAGE } }));
    return e;
  };

  let total = 0;
  let ai = 0;
  let failedAi = 0;
  let human = 0;
  let confSum = 0;
  let confN = 0;
  for (const r of annotations.rows as Record<string, any>[]) {
    total += r.n;
    if (r.source === 'ai') {
      ai += r.n - r.failed;
      failedAi += r.failed;
      confSum += Number(r.conf_sum ?? 0);
      confN += r.conf_n;
      const e = acc(r.engine_id);
      if (e) {
        e.ai += r.n - r.failed;
        e.confSum += Number(r.conf_sum ?? 0);
        e.confN += r.conf_n;
      }
    } else if (r.source === 'human') human += r.n;
  }
  let reviewed = 0;
  let agreed = 0;
  for (const r of reviews.rows as Record<string, any>[]) {
    reviewed += r.reviewed;
    agreed += r.agreed;
    const e = acc(r.engine_id);
    if (e) {
      e.reviewed += r.reviewed;
      e.agreed += r.agreed;
    }
  }
  let suggestionCount = 0;
  const fb = { accepted: 0, modified: 0, rejected: 0 };
  for (const r of suggestions.rows as Record<string, any>[]) {
    suggestionCount += r.n;
    confSum += Number(r.conf_sum ?? 0);
    confN += r.n;
    fb.accepted += r.accepted;
    fb.modified += r.modified;
    fb.rejected += r.rejected;
    const e = acc(r.engine_id);
    if (e) {
      e.suggestions += r.n;
      e.confSum += Number(r.conf_sum ?? 0);
      e.confN += r.n;
      e.feedback = feedbackOf(r);
    }
  }
  for (const [id, stats] of usage) acc(id)!.usage = stats;

  const ids = [...engines.keys()].filter((id) => UUID_PATTERN.test(id));
  const names = new Map<string, string>(
    ids.length ? (await db('engines').whereIn('id', ids).select('id', 'name')).map((r: { id: string; name: string }) => [r.id, r.name]) : [],
  );
  const feedback = feedbackOf(fb);
  return {
    project_id: projectIds?.length === 1 ? projectIds[0] : null,
    total_annotations: total,
    ai_annotations: ai,
    failed_ai_annotations: failedAi,
    human_annotations: human,
    suggestions: suggestionCount,
    acceptance_rate: rate(feedback.accepted + agreed, feedback.total + reviewed),
    feedback,
    reviews: { reviewed, agreed, acceptance_rate: rate(agreed, reviewed) },
    mean_confidence: confN ? Math.round((confSum / confN) * 10_000) / 10_000 : null,
    cost_usd: trimDecimal(String((totals.rows[0] as Record<string, unknown>).cost_usd ?? '0')),
    usage: usageOf(totals.rows[0] as Record<string, unknown>),
    engines: [...engines.entries()]
      .sort(([x], [y]) => (x < y ? -1 : 1))
      .map(([id, e]) => ({
        engine_id: id,
        name: names.get(id) ?? null,
        ai_annotations: e.ai,
        suggestions: e.suggestions,
        mean_confidence: e.confN ? Math.round((e.confSum / e.confN) * 10_000) / 10_000 : null,
        feedback: e.feedback,
        reviews: { reviewed: e.reviewed, agreed: e.agreed, acceptance_rate: rate(e.agreed, e.reviewed) },
        acceptance_rate: rate(e.feedback.accepted + e.agreed, e.feedback.total + e.reviewed),
        usage: e.usage,
      })),
    labels: (labels.rows as Record<string, any>[]).map((r) => {
      const f = feedbackOf(r);
      return { engine_id: r.engine_id, label: r.label, suggestions: r.n, accepted: f.accepted, modified: f.modified, rejected: f.rejected, acceptance_rate: f.acceptance_rate };
    }),
  };
}

defineRoute(
  aiMetricsRouter,
  {
    method: 'get',
    path: '/annotation/metrics',
    tags: ['metrics'],
    summary: 'AI metrics',
    description:
      'AI annotation metrics for one project or every project the caller may see (not the Prometheus `/metrics`): annotation counts, acceptance (from suggestion feedback and from human annotations of AI-annotated items), mean confidence, and cost — the exact sum of the `llm_usage` ledger for the scope (tenant-wide, it includes calls with no project such as health probes) — overall, per engine, and per engine and suggested label.',
    request: { query: MetricsQuery },
    responses: { 200: { description: 'The metrics', schema: MetricsResponse } },
  },
  async (ctx) => {
    const { query } = ctx.state.input;
    const principal = ctx.state.principal!;
    let projectIds: string[] | undefined;
    if (query.project_id) projectIds = [(await findProjectForPrincipal(ctx.deps.db, principal, query.project_id)).id];
    else if (principal.projects) projectIds = principal.projects.filter((id) => UUID_PATTERN.test(id));
    ctx.body = await aiMetrics(ctx.deps.db, principal.tenantId, projectIds);
  },
);
