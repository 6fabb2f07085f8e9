import type { AiMetricRows } from '../../data/ai-metrics';
import { EMPTY_USAGE, trimDecimal, usageOf, type UsageStats } from '../engines/presenter';

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

type EngineTotals = {
  ai: number;
  suggestions: number;
  confSum: number;
  confN: number;
  feedback: ReturnType<typeof feedbackOf>;
  reviewed: number;
  agreed: number;
  usage: UsageStats;
};

/** Every engine the counts or the ledger name, in the order the answer lists them. */
export function engineIdsOf(rows: AiMetricRows, usage: Map<string, UsageStats>): string[] {
  const ids = new Set<string>();
  for (const r of [...rows.annotations.filter((a) => a.source === 'ai'), ...rows.reviews, ...rows.suggestions]) if (r.engine_id) ids.add(r.engine_id);
  for (const id of usage.keys()) if (id) ids.add(id);
  return [...ids];
}

/**
 * GET /annotation/metrics's answer from its counts (src/data/ai-metrics.ts), the ledger's usage
 * per engine and the engines' names. Pure.
 */
export function presentAiMetrics(rows: AiMetricRows, usage: Map<string, UsageStats>, names: Map<string, string>, projectIds: string[] | undefined) {
  const engines = new Map<string, EngineTotals>();
  const acc = (id: string | null): EngineTotals | undefined => {
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
  for (const r of rows.annotations) {
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
  for (const r of rows.reviews) {
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
  for (const r of rows.suggestions) {
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
    cost_usd: trimDecimal(String(rows.totals.cost_usd ?? '0')),
    usage: usageOf(rows.totals),
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
    labels: rows.labels.map((r) => {
      const f = feedbackOf(r);
      return { engine_id: r.engine_id, label: r.label, suggestions: r.n, accepted: f.accepted, modified: f.modified, rejected: f.rejected, acceptance_rate: f.acceptance_rate };
    }),
  };
}
