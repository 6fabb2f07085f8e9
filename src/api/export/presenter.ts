import type { ExportRecord } from '../../data/export-pages';
import { iso } from '../../formats';
import { presentFinalLabel } from '../final-labels/presenter';

type Annotation = ExportRecord['annotations'][number];

function presentAnnotation(a: Annotation) {
  return {
    annotation_id: a.id,
    source: a.source,
    annotator_id: a.annotator_id,
    engine_id: a.engine_id,
    value: a.value ?? null,
    confidence: a.confidence === null ? null : Number(a.confidence),
    status: a.status,
    task_id: a.task_id,
    created_at: iso(a.created_at),
  };
}

/** One `format=jsonl` line (ExportJsonlLine). */
export function presentExportLine(r: ExportRecord, withAnnotations: boolean) {
  return {
    item_id: r.item.id,
    external_id: r.item.external_id,
    data: r.item.data,
    gold_label: r.item.gold_label ?? null,
    created_at: iso(r.item.created_at),
    final_label: presentFinalLabel(r.final),
    ...(withAnnotations ? { annotations: r.annotations.map(presentAnnotation) } : {}),
  };
}

/** The CSV columns, in order; `annotations` (JSON) only with labels=all. */
export function csvHeader(withAnnotations: boolean): string[] {
  return [
    'item_id', 'external_id', 'text', 'data', 'gold_label',
    'final_status', 'final_label', 'final_value', 'final_source', 'final_method', 'decided_by', 'decided_at',
    'conflict_id', 'engine_id', 'confidence',
    ...(withAnnotations ? ['annotations'] : []),
  ];
}

const json = (v: unknown) => (v === null || v === undefined ? '' : JSON.stringify(v));

/** One CSV row (cells as text, before quoting), in `csvHeader`'s order. */
export function csvCells(r: ExportRecord, withAnnotations: boolean): string[] {
  const f = r.final;
  const text = typeof r.item.data?.text === 'string' ? r.item.data.text : '';
  return [
    r.item.id, r.item.external_id ?? '', text, json(r.item.data), json(r.item.gold_label),
    f?.status ?? '', f?.label ?? '', json(f?.value), f?.source ?? '', f?.method ?? '', f?.decided_by ?? '', iso(f?.decided_at) ?? '',
    f?.conflict_id ?? '', f?.engine_id ?? '', f?.confidence == null ? '' : String(Number(f.confidence)),
    ...(withAnnotations ? [JSON.stringify(r.annotations.map(presentAnnotation))] : []),
  ];
}

/** RFC 4180: a cell with a comma, quote, CR or LF is quoted, its quotes doubled; rows end in CRLF. */
export function csvLine(cells: string[]): string {
  return `${cells.map((c) => (/[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(',')}\r\n`;
}

/** The Label Studio names of the labelling config this export assumes: `<Choices name="label" toName="text">`. */
export const LABEL_STUDIO_FROM = 'label';
export const LABEL_STUDIO_TO = 'text';

function choicesOf(value: unknown): string[] | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as { label?: unknown; labels?: unknown };
  if (typeof v.label === 'string') return [v.label];
  if (Array.isArray(v.labels)) return v.labels.map(String);
  return null;
}

function result(value: unknown) {
  const choices = choicesOf(value);
  return choices ? [{ from_name: LABEL_STUDIO_FROM, to_name: LABEL_STUDIO_TO, type: 'choices', value: { choices } }] : [];
}

/**
 * A Label Studio task: `data` (the item's data, its ids in `meta`), `predictions` (every AI
 * annotation: engine as `model_version`, confidence as `score`) and `annotations` (the final
 * label as the ground truth, and with labels=all every human annotation).
 */
export function presentLabelStudioTask(r: ExportRecord, withHumans: boolean) {
  const predictions = r.annotations
    .filter((a) => a.source === 'ai' && a.value)
    .map((a) => ({
      model_version: a.engine_id ?? a.annotator_id,
      score: a.confidence === null ? null : Number(a.confidence),
      result: result(a.value),
      created_at: iso(a.created_at),
    }));
  const annotations: Record<string, unknown>[] = [];
  if (r.final?.value) {
    annotations.push({
      completed_by: r.final.decided_by,
      ground_truth: true,
      result: result(r.final.value),
      created_at: iso(r.final.decided_at),
      meta: { final_label: true, source: r.final.source, method: r.final.method, conflict_id: r.final.conflict_id },
    });
  }
  if (withHumans) {
    for (const a of r.annotations) {
      if (a.source !== 'human' || !a.value) continue;
      annotations.push({
        completed_by: a.annotator_id,
        ground_truth: false,
        result: result(a.value),
        created_at: iso(a.created_at),
        meta: { annotation_id: a.id, status: a.status, task_id: a.task_id },
      });
    }
  }
  return {
    id: Number(r.item.seq),
    data: r.item.data,
    meta: { item_id: r.item.id, external_id: r.item.external_id },
    predictions,
    annotations,
  };
}
