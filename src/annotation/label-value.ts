import type { AnnotationValue, LabelSchema } from '../llm/types';

/**
 * Checks a human-given value against the project's label schema. Pure: the API validates with it
 * before calling a workflow (a 422), and the workflow's update validator checks again.
 * Returns null when valid, else the reason.
 */
export function labelValueProblem(schema: LabelSchema, value: unknown): string | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'value must be an object';
  const v = value as Record<string, unknown>;
  if (schema.type === 'single_label') {
    if (typeof v.label !== 'string' || Object.keys(v).length !== 1) return 'value must be {"label": "<one of the project labels>"}';
    if (!schema.labels.includes(v.label)) return `label ${JSON.stringify(v.label)} is not one of ${schema.labels.join(', ')}`;
    return null;
  }
  if (!Array.isArray(v.labels) || Object.keys(v).length !== 1) return 'value must be {"labels": [<project labels>]}';
  if (!v.labels.length) return 'labels must not be empty';
  for (const l of v.labels) {
    if (typeof l !== 'string' || !schema.labels.includes(l)) return `label ${JSON.stringify(l)} is not one of ${schema.labels.join(', ')}`;
  }
  if (new Set(v.labels).size !== v.labels.length) return 'labels must be unique';
  return null;
}

/** A canonical comparison key: label sets compare regardless of order. */
export function valueKey(value: AnnotationValue | null | undefined): string | null {
  if (!value) return null;
  if ('label' in value) return value.label;
  if ('labels' in value) return [...value.labels].sort().join('\u0000');
  return null;
}

/** The value a key stands for, in the schema's shape. */
export function valueFromKey(schema: LabelSchema, key: string): AnnotationValue {
  return schema.type === 'single_label' ? { label: key } : { labels: key.split('\u0000').filter(Boolean) };
}
