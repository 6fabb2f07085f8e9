/**
 * Label Studio tasks → items of the import (NDJSON lines): the reverse of the `label-studio`
 * export, for work moving in from Label Studio. Pure.
 *
 * A task's `data` becomes the item's data; its external id is `meta.external_id` (what this
 * service's export writes) or `label-studio-<id>`; a `ground_truth` annotation with a `choices`
 * result becomes the gold label (one choice: `{"label"}`, several: `{"labels"}`). Predictions and
 * other annotations are not items' fields, so they are not imported.
 */
export interface LabelStudioTask {
  id?: number | string;
  data?: Record<string, unknown>;
  meta?: { external_id?: string | null };
  annotations?: { ground_truth?: boolean; was_cancelled?: boolean; result?: { type?: string; value?: { choices?: unknown[] } }[] }[];
}

export function itemFromLabelStudioTask(task: LabelStudioTask, index: number): Record<string, unknown> {
  if (!task || typeof task !== 'object' || !task.data || typeof task.data !== 'object') throw new Error(`task ${index + 1} has no "data" object`);
  const externalId = task.meta?.external_id ?? (task.id !== undefined && task.id !== null ? `label-studio-${task.id}` : undefined);
  const gold = (task.annotations ?? []).find((a) => a.ground_truth && !a.was_cancelled);
  const choices = gold?.result?.find((r) => r.type === 'choices')?.value?.choices?.map(String);
  return {
    ...(externalId ? { external_id: String(externalId) } : {}),
    data: task.data,
    ...(choices?.length ? { gold_label: choices.length === 1 ? { label: choices[0] } : { labels: choices } } : {}),
  };
}
