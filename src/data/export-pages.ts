import type { Knex } from 'knex';
import type { AnnotationRow, FinalLabelRow, ItemRow } from '../db/models';
import { readFinalLabels } from './final-labels';

/** One item of an export with its final label (from `final_labels`, never recomputed) and, when asked, its annotations. */
export interface ExportRecord {
  item: Pick<ItemRow, 'id' | 'seq' | 'external_id' | 'data' | 'gold_label' | 'created_at'>;
  final: FinalLabelRow | null;
  annotations: Pick<AnnotationRow, 'id' | 'source' | 'annotator_id' | 'engine_id' | 'value' | 'confidence' | 'status' | 'task_id' | 'created_at'>[];
}

export const EXPORT_PAGE_SIZE = 1000;

/**
 * A project's items in import order, a keyset page (`seq > last`) at a time, each page joined to
 * its final labels and (with `annotations`) its annotations: three indexed reads per page, so an
 * export holds one page in memory whatever the project's size.
 */
export async function* exportPages(
  db: Knex,
  req: { tenantId: string; projectId: string; annotations: boolean; pageSize?: number },
): AsyncGenerator<ExportRecord[]> {
  const pageSize = req.pageSize ?? EXPORT_PAGE_SIZE;
  let afterSeq = '0';
  for (;;) {
    const items: ExportRecord['item'][] = await db('items')
      .where({ project_id: req.projectId, tenant_id: req.tenantId })
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(pageSize)
      .select('id', 'seq', 'external_id', 'data', 'gold_label', 'created_at');
    if (!items.length) return;
    afterSeq = String(items[items.length - 1].seq);
    const ids = items.map((i) => i.id);
    const finals = await readFinalLabels(db, req.projectId, ids);
    const byItem = new Map<string, ExportRecord['annotations']>();
    if (req.annotations) {
      const rows: (ExportRecord['annotations'][number] & { item_id: string })[] = await db('annotations')
        .where({ project_id: req.projectId })
        .whereIn('item_id', ids)
        .orderBy([{ column: 'created_at' }, { column: 'id' }])
        .select('id', 'item_id', 'source', 'annotator_id', 'engine_id', 'value', 'confidence', 'status', 'task_id', 'created_at');
      for (const { item_id, ...a } of rows) {
        const list = byItem.get(item_id) ?? [];
        list.push(a);
        byItem.set(item_id, list);
      }
    }
    yield items.map((item) => ({ item, final: finals.get(item.id) ?? null, annotations: byItem.get(item.id) ?? [] }));
    if (items.length < pageSize) return;
  }
}
