import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { Semaphore } from '../../annotation/semaphore';
import type { EngineRecord, ItemRow } from '../../db/models';
import { valueLabels } from '../../llm/prompt';
import type { Switcher } from '../../llm/switcher';
import type { AnnotationValue, ProjectContext } from '../../llm/types';
import { cohenKappa, percentAgreement, type Rating } from '../../quality';
import { usageByEngine } from './store';

export const DEFAULT_COMPARE_SAMPLE = 20;
const COMPARE_CONCURRENCY = 8;

/**
 * What two answers (or an answer and its reference) are compared by: the label, or the label
 * set deduplicated and sorted, joined by `|`; null for no label. In memory only — not
 * `valueKey` (src/annotation/label-value.ts), the NUL-joined key conflicts store and read back.
 */
export function comparisonKey(value: AnnotationValue | null | undefined): string | null {
  const labels = valueLabels(value);
  if (!labels.length) return null;
  return [...new Set(labels)].sort().join('|');
}

export interface ReferenceItem {
  id: string;
  text: string;
  reference: AnnotationValue;
}

/**
 * Items with a reference label: the gold label, else the latest human annotation. With
 * `itemIds`, those of them that have one (in the given order); otherwise the newest `sample`.
 */
export async function loadReferenceItems(
  db: Knex,
  projectId: string,
  opts: { itemIds?: string[]; sample: number },
): Promise<{ items: ReferenceItem[]; skipped: string[] }> {
  const human = db('annotations')
    .select('item_id', 'value')
    .distinctOn('item_id')
    .where({ project_id: projectId, source: 'human' })
    .whereNotNull('value')
    .orderBy([{ column: 'item_id' }, { column: 'updated_at', order: 'desc' }])
    .as('h');
  const q = db('items as i')
    .leftJoin(human, 'h.item_id', 'i.id')
    .where('i.project_id', projectId)
    .andWhere((w) => w.whereNotNull('i.gold_label').orWhereNotNull('h.value'))
    .select('i.id', 'i.data', 'i.gold_label', 'h.value as human_value');
  if (opts.itemIds) q.whereIn('i.id', opts.itemIds);
  else q.orderBy('i.seq', 'desc').limit(opts.sample);
  const rows: (Pick<ItemRow, 'id' | 'data'> & { gold_label: AnnotationValue | null; human_value: AnnotationValue | null })[] = await q;
  const byId = new Map(
    rows.map((r) => [
      r.id,
      { id: r.id, text: typeof r.data?.text === 'string' ? r.data.text : JSON.stringify(r.data), reference: (r.gold_label ?? r.human_value)! },
    ]),
  );
  if (!opts.itemIds) return { items: [...byId.values()], skipped: [] };
  const items: ReferenceItem[] = [];
  const skipped: string[] = [];
  for (const id of [...new Set(opts.itemIds)]) {
    const it = byId.get(id);
    if (it) items.push(it);
    else skipped.push(id);
  }
  return { items, skipped };
}

function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function round(n: number | null, digits = 4): number | null {
  if (n === null || !Number.isFinite(n)) return null;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/**
 * Runs every engine alone (no fallback, no cache) on every item, then scores each engine
 * against the reference labels and each pair of engines against each other (percent agreement
 * and Cohen's kappa over the items both answered). Costs are the exact ledger sums of the run,
 * whose rows carry `job_id = compare_id`.
 */
export async function compareEngines(
  db: Knex,
  switcher: Switcher,
  opts: { project: ProjectContext; engines: EngineRecord[]; items: ReferenceItem[] },
) {
  const compareId = crypto.randomUUID();
  const sem = new Semaphore(COMPARE_CONCURRENCY);
  const labels = opts.project.labelSchema.labels;
  const answers = new Map<string, Map<string, { key: string | null; latency: number } | { error: string }>>();
  for (const e of opts.engines) answers.set(e.id, new Map());

  await Promise.all(
    opts.engines.flatMap((engine) =>
      opts.items.map((item) =>
        sem.use(async () => {
          const outcome = await switcher.callAlone(engine, { project: opts.project, item: { id: item.id, text: item.text }, jobId: compareId });
          answers.get(engine.id)!.set(item.id, outcome.ok ? { key: comparisonKey(outcome.result.value), latency: outcome.result.latencyMs } : { error: outcome.reason });
        }),
      ),
    ),
  );

  const costs = await usageByEngine(db, opts.project.tenantId, { jobId: compareId });
  const engines = opts.engines.map((engine) => {
    const mine = answers.get(engine.id)!;
    const latencies: number[] = [];
    const errors: { item_id: string; reason: string }[] = [];
    let correct = 0;
    for (const item of opts.items) {
      const a = mine.get(item.id);
      if (!a) continue;
      if ('error' in a) {
        errors.push({ item_id: item.id, reason: a.error });
        continue;
      }
      latencies.push(a.latency);
      if (a.key !== null && a.key === comparisonKey(item.reference)) correct++;
    }
    return {
      engine_id: engine.id,
      name: engine.name,
      answered: latencies.length,
      failed: errors.length,
      correct,
      accuracy: opts.items.length ? round(correct / opts.items.length) : null,
      latency_ms: { p50: median(latencies), mean: latencies.length ? round(latencies.reduce((s, x) => s + x, 0) / latencies.length, 1) : null },
      cost_usd: costs.get(engine.id)?.cost_usd ?? '0',
      errors,
    };
  });

  const agreement = [];
  for (let i = 0; i < opts.engines.length; i++) {
    for (let j = i + 1; j < opts.engines.length; j++) {
      const a = answers.get(opts.engines[i].id)!;
      const b = answers.get(opts.engines[j].id)!;
      const ka: string[] = [];
      const kb: string[] = [];
      const ratings: Rating[] = [];
      for (const item of opts.items) {
        const x = a.get(item.id);
        const y = b.get(item.id);
        if (!x || !y || 'error' in x || 'error' in y || x.key === null || y.key === null) continue;
        ka.push(x.key);
        kb.push(y.key);
        ratings.push({ itemId: item.id, annotatorId: 'a', value: x.key }, { itemId: item.id, annotatorId: 'b', value: y.key });
      }
      agreement.push({
        engine_a: opts.engines[i].id,
        engine_b: opts.engines[j].id,
        n: ka.length,
        percent_agreement: round(percentAgreement(ratings)),
        cohen_kappa: ka.length ? round(cohenKappa(ka, kb, { labels })) : null,
      });
    }
  }
  return { compare_id: compareId, engines, agreement };
}
